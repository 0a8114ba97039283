-- Notifications (issue 6): the indexes the digest's neighbours need.
--
-- 00012 indexes only the pending notifications (what the daily digest
-- reads). A user's page of recent notifications reads all of them, newest
-- first, and deleting a user cascades to them: both need the user's rows
-- by id. The clean-up job deletes notifications older than the retention
-- period (docs/notifications.md) every tick: by creation date, without
-- reading the whole table each time.

-- +goose Up
CREATE INDEX notifications_user ON notifications (user_id, id DESC);
CREATE INDEX notifications_created ON notifications (created_at);
