package storage

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"path"
	"syscall"
	"time"
)

// The file-level steps of the disk backend, all relative to an os.Root.

// writeTmpBlob copies exactly size bytes of r into a synced temp file and
// returns its name and the hex SHA-256 of the content. Nothing is left behind
// on error: not a short or long reader, not a cancelled context.
func writeTmpBlob(ctx context.Context, root *os.Root, key string, r io.Reader, size int64) (name, etag string, err error) {
	h := sha256.New()
	// One byte past size is enough to tell a longer reader from an exact one.
	limit := size
	if limit < math.MaxInt64 {
		limit++
	}
	name, err = writeTmp(root, func(f *os.File) error {
		n, err := io.Copy(io.MultiWriter(f, h), io.LimitReader(ctxReader{ctx: ctx, r: r}, limit))
		switch {
		case err != nil:
			return err
		case n < size:
			return fmt.Errorf("reader ended after %d of %d bytes: %w", n, size, ErrSizeMismatch)
		case n > size:
			return fmt.Errorf("reader holds more than %d bytes: %w", size, ErrSizeMismatch)
		}
		return nil
	})
	if err != nil {
		return "", "", fmt.Errorf("put %s: %w", key, err)
	}
	return name, hex.EncodeToString(h.Sum(nil)), nil
}

// writeTmp creates a fresh file under .tmp, lets fill write it, and syncs
// it, so that a rename afterwards publishes content that is on disk.
func writeTmp(root *os.Root, fill func(*os.File) error) (string, error) {
	name := path.Join(diskTmpDir, rand.Text())
	f, err := root.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o640)
	if errors.Is(err, fs.ErrNotExist) {
		// The directory was restored empty (a volume remounted, a backup
		// put back): recreate the work area instead of failing forever.
		if err = root.MkdirAll(diskTmpDir, 0o750); err == nil {
			f, err = root.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o640)
		}
	}
	if err != nil {
		return "", err
	}
	err = fill(f)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		if rerr := root.Remove(name); rerr != nil && !errors.Is(rerr, fs.ErrNotExist) {
			return "", errors.Join(err, rerr)
		}
		return "", err
	}
	return name, nil
}

// moveInto renames the temp file from to its final place, creating parent
// directories, then syncs the parent so the rename itself survives a crash.
func moveInto(root *os.Root, from, to string) error {
	dir := path.Dir(to)
	for attempt := 1; ; attempt++ {
		err := root.MkdirAll(dir, 0o750)
		if err == nil {
			err = root.Rename(from, to)
		}
		switch {
		case err == nil:
			return syncDir(root, dir)
		case errors.Is(err, fs.ErrNotExist) && attempt < 3:
			// A concurrent Delete pruned the parent we had just created.
			continue
		case errors.Is(err, syscall.ENOTDIR) || errors.Is(err, syscall.EISDIR) ||
			errors.Is(err, syscall.ENOTEMPTY) || errors.Is(err, fs.ErrExist):
			// On disk, unlike S3, "a" cannot be a blob and a prefix of
			// "a/b" at once.
			return fmt.Errorf("key is a blob and a prefix of another key (%w): %w", err, ErrInvalidKey)
		default:
			return err
		}
	}
}

func syncDir(root *os.Root, dir string) error {
	f, err := root.Open(dir)
	if err != nil {
		return err
	}
	err = f.Sync()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// readMeta returns the blob's description. Metadata that is missing or does
// not match the blob (a crash between Put's two renames) is not trusted: the
// ETag is recomputed and the content type falls back to octet-stream.
func readMeta(root *os.Root, key string, info fs.FileInfo) (Object, error) {
	b, err := root.ReadFile(path.Join(diskMetaDir, key))
	var m diskMeta
	if err == nil {
		err = json.Unmarshal(b, &m)
	}
	if err == nil && m.Size == info.Size() && m.ModTime == info.ModTime().UnixNano() {
		return m.object(key), nil
	}
	f, err := root.Open(key)
	if err != nil {
		return Object{}, err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return Object{}, err
	}
	return Object{
		Key: key, Size: info.Size(), ContentType: octetStream,
		ETag: hex.EncodeToString(h.Sum(nil)), Modified: info.ModTime(),
	}, nil
}

// diskLookupErr turns a failed lookup of key into ErrNotFound when the blob
// is simply not there ("a/b" under a blob "a" included).
func diskLookupErr(op, key string, err error) error {
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
		return fmt.Errorf("%s %s: %w", op, key, ErrNotFound)
	}
	return fmt.Errorf("%s %s: %w", op, key, err)
}

// pruneEmptyParents removes the directories above p up to the top of its
// tree, stopping at the first that is not empty.
func pruneEmptyParents(root *os.Root, p string) {
	for dir := path.Dir(p); dir != "." && dir != diskMetaDir; dir = path.Dir(dir) {
		if root.Remove(dir) != nil {
			return
		}
	}
}

// sweepTmp removes temp files old enough to belong to no live upload.
func sweepTmp(root *os.Root) error {
	dir, err := root.Open(diskTmpDir)
	if err != nil {
		return err
	}
	defer dir.Close()
	entries, err := dir.ReadDir(-1)
	if err != nil {
		return err
	}
	for _, e := range entries {
		info, err := e.Info()
		if err != nil || time.Since(info.ModTime()) < staleTmpAge {
			continue
		}
		if err := root.Remove(path.Join(diskTmpDir, e.Name())); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	return nil
}

// ctxReader stops a copy as soon as its context is cancelled, since a
// reader from a slow client may otherwise keep an upload alive.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}
