package storage

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/maphash"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sync"
	"syscall"
	"time"
)

// The disk layout under the root directory:
//
//	<key>            the blob itself, so the tree stays browsable and backups are plain files
//	.meta/<key>      its metadata as JSON (same relative path, so it conflicts exactly when the blob does)
//	.tmp/<random>    uploads in progress, renamed into place once complete
//
// ValidateKey refuses segments starting with '.', so no key can reach .meta
// or .tmp, and no metadata file can ever collide with a blob.
const (
	diskMetaDir = ".meta"
	diskTmpDir  = ".tmp"
	// staleTmpAge is how old a temp file must be before NewDisk removes it:
	// old enough that no upload of a live process still owns it.
	staleTmpAge = 24 * time.Hour
	// octetStream is the content type of a blob whose metadata is lost.
	octetStream = "application/octet-stream"
)

// Disk stores blobs in a local directory. Every file access goes through
// os.Root, so neither a key nor a symbolic link planted in the tree can reach
// outside the directory. It suits a single server; two processes sharing one
// directory are safe against torn blobs but may briefly see stale metadata.
type Disk struct {
	dir string
	// locks order a Put's two renames (blob, then metadata) against readers,
	// so a reader never pairs a new blob with old metadata. Striped by key
	// hash: a lock per key would grow without bound.
	locks [64]sync.RWMutex
	seed  maphash.Seed
}

var _ Store = (*Disk)(nil)

// diskMeta is what .meta/<key> holds. Size and ModTime identify the blob the
// metadata was written for, so metadata left stale by a crash between the
// two renames is detected instead of being trusted. Restoring a backup must
// therefore keep modification times (cp -a, rsync -a, tar do), or every blob
// is served as octet-stream with an ETag hashed on each read.
type diskMeta struct {
	ContentType string `json:"content_type"`
	ETag        string `json:"etag"`
	Size        int64  `json:"size"`
	ModTime     int64  `json:"mod_time_ns"`
}

// NewDisk opens (creating it with mode 0750 when missing) the directory dir
// as a blob store, and removes temp files that a crashed process left behind.
func NewDisk(dir string) (*Disk, error) {
	if dir == "" {
		return nil, errors.New("disk storage: empty directory")
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("disk storage %s: %w", dir, err)
	}
	if err := os.MkdirAll(abs, 0o750); err != nil {
		return nil, fmt.Errorf("disk storage: create %s: %w", abs, err)
	}
	d := &Disk{dir: abs, seed: maphash.MakeSeed()}
	root, err := d.open()
	if err != nil {
		return nil, err
	}
	defer root.Close()
	for _, sub := range []string{diskMetaDir, diskTmpDir} {
		if err := root.MkdirAll(sub, 0o750); err != nil {
			return nil, fmt.Errorf("disk storage: create %s: %w", filepath.Join(abs, sub), err)
		}
	}
	if err := sweepTmp(root); err != nil {
		return nil, fmt.Errorf("disk storage %s: %w", abs, err)
	}
	return d, nil
}

// Dir returns the absolute directory of the store.
func (d *Disk) Dir() string { return d.dir }

// Put writes the blob to a temp file, checks its size, syncs it and renames
// it into place, so the key shows either the old blob or the complete new one.
func (d *Disk) Put(ctx context.Context, key string, r io.Reader, size int64, contentType string) (Object, error) {
	if err := ValidateKey(key); err != nil {
		return Object{}, err
	}
	if size < 0 {
		return Object{}, fmt.Errorf("put %s: negative size %d: %w", key, size, ErrSizeMismatch)
	}
	if contentType == "" {
		contentType = octetStream
	}
	root, err := d.open()
	if err != nil {
		return Object{}, err
	}
	defer root.Close()

	blobTmp, etag, err := writeTmpBlob(ctx, root, key, r, size)
	if err != nil {
		return Object{}, err
	}
	defer root.Remove(blobTmp) // fails harmlessly once renamed
	info, err := root.Stat(blobTmp)
	if err != nil {
		return Object{}, fmt.Errorf("put %s: %w", key, err)
	}
	meta := diskMeta{ContentType: contentType, ETag: etag, Size: size, ModTime: info.ModTime().UnixNano()}
	metaJSON, err := json.Marshal(meta)
	if err != nil {
		return Object{}, fmt.Errorf("put %s: %w", key, err)
	}
	metaTmp, err := writeTmp(root, func(f *os.File) error {
		_, err := f.Write(metaJSON)
		return err
	})
	if err != nil {
		return Object{}, fmt.Errorf("put %s: metadata: %w", key, err)
	}
	defer root.Remove(metaTmp)
	if err := ctx.Err(); err != nil {
		return Object{}, fmt.Errorf("put %s: %w", key, err)
	}

	lock := d.lock(key)
	lock.Lock()
	defer lock.Unlock()
	if err := moveInto(root, blobTmp, key); err != nil {
		return Object{}, fmt.Errorf("put %s: %w", key, err)
	}
	if err := moveInto(root, metaTmp, path.Join(diskMetaDir, key)); err != nil {
		return Object{}, fmt.Errorf("put %s: metadata: %w", key, err)
	}
	return meta.object(key), nil
}

// Get opens the blob; the open file keeps reading the same blob even if a
// later Put replaces it.
func (d *Disk) Get(ctx context.Context, key string) (io.ReadCloser, Object, error) {
	if err := ValidateKey(key); err != nil {
		return nil, Object{}, err
	}
	if err := ctx.Err(); err != nil {
		return nil, Object{}, fmt.Errorf("get %s: %w", key, err)
	}
	root, err := d.open()
	if err != nil {
		return nil, Object{}, err
	}
	defer root.Close()

	lock := d.lock(key)
	lock.RLock()
	defer lock.RUnlock()
	f, err := root.Open(key)
	if err != nil {
		return nil, Object{}, diskLookupErr("get", key, err)
	}
	info, err := f.Stat()
	if err == nil && !info.Mode().IsRegular() {
		err = fmt.Errorf("not a regular file: %w", fs.ErrNotExist)
	}
	if err != nil {
		f.Close()
		return nil, Object{}, diskLookupErr("get", key, err)
	}
	obj, err := readMeta(root, key, info)
	if err != nil {
		f.Close()
		return nil, Object{}, fmt.Errorf("get %s: %w", key, err)
	}
	return f, obj, nil
}

// Stat describes the blob from its metadata file.
func (d *Disk) Stat(ctx context.Context, key string) (Object, error) {
	if err := ValidateKey(key); err != nil {
		return Object{}, err
	}
	if err := ctx.Err(); err != nil {
		return Object{}, fmt.Errorf("stat %s: %w", key, err)
	}
	root, err := d.open()
	if err != nil {
		return Object{}, err
	}
	defer root.Close()

	lock := d.lock(key)
	lock.RLock()
	defer lock.RUnlock()
	info, err := root.Stat(key)
	if err == nil && !info.Mode().IsRegular() {
		err = fmt.Errorf("not a regular file: %w", fs.ErrNotExist)
	}
	if err != nil {
		return Object{}, diskLookupErr("stat", key, err)
	}
	obj, err := readMeta(root, key, info)
	if err != nil {
		return Object{}, fmt.Errorf("stat %s: %w", key, err)
	}
	return obj, nil
}

// Delete removes the blob, its metadata, and the directories left empty, so
// that a deleted "a/b" does not keep "a" from becoming a key again.
func (d *Disk) Delete(ctx context.Context, key string) error {
	if err := ValidateKey(key); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("delete %s: %w", key, err)
	}
	root, err := d.open()
	if err != nil {
		return err
	}
	defer root.Close()

	lock := d.lock(key)
	lock.Lock()
	defer lock.Unlock()
	info, err := root.Lstat(key)
	switch {
	case errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR):
		return nil
	case err != nil:
		return fmt.Errorf("delete %s: %w", key, err)
	case info.IsDir():
		return nil // a prefix of other keys, not a blob
	}
	if err := root.Remove(key); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("delete %s: %w", key, err)
	}
	if err := root.Remove(path.Join(diskMetaDir, key)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("delete %s: metadata: %w", key, err)
	}
	pruneEmptyParents(root, key)
	pruneEmptyParents(root, path.Join(diskMetaDir, key))
	return nil
}

// DownloadURL reports ok=false: the server streams disk blobs through Get.
func (d *Disk) DownloadURL(ctx context.Context, key string, ttl time.Duration, filename string) (string, bool, error) {
	if err := ValidateKey(key); err != nil {
		return "", false, err
	}
	return "", false, nil
}

// Ping checks that the directory is still there and writable, by creating
// and removing a temp file: a read-only remount shows up here, not at the
// first upload.
func (d *Disk) Ping(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("ping disk storage: %w", err)
	}
	root, err := d.open()
	if err != nil {
		return err
	}
	defer root.Close()
	name, err := writeTmp(root, func(f *os.File) error {
		_, err := f.WriteString("ping")
		return err
	})
	if err != nil {
		return fmt.Errorf("ping disk storage %s: %w", d.dir, ErrUnavailable.WithCause(err))
	}
	if err := root.Remove(name); err != nil {
		return fmt.Errorf("ping disk storage %s: %w", d.dir, ErrUnavailable.WithCause(err))
	}
	return nil
}

// open opens the root for one operation. Holding no descriptor between
// operations spares the Disk a Close method that callers would forget.
func (d *Disk) open() (*os.Root, error) {
	root, err := os.OpenRoot(d.dir)
	if err != nil {
		return nil, fmt.Errorf("disk storage %s: %w", d.dir, ErrUnavailable.WithCause(err))
	}
	return root, nil
}

func (d *Disk) lock(key string) *sync.RWMutex {
	return &d.locks[maphash.String(d.seed, key)%uint64(len(d.locks))]
}

func (m diskMeta) object(key string) Object {
	return Object{Key: key, Size: m.Size, ContentType: m.ContentType, ETag: m.ETag, Modified: time.Unix(0, m.ModTime)}
}
