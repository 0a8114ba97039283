package storage

import (
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/url"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// s3MaxRetries bounds minio-go's retries (10 by default, about 8 s of
// back-off against a dead server): a readiness check or an upload should fail
// within a couple of seconds and let the caller decide.
const s3MaxRetries = 3

// maxPresignTTL is the longest validity S3 accepts for a presigned URL.
const maxPresignTTL = 7 * 24 * time.Hour

// S3Config locates a bucket on any server speaking the S3 protocol.
type S3Config struct {
	Endpoint  string // host:port, without scheme
	AccessKey string
	SecretKey string
	Bucket    string
	Region    string // may be empty for MinIO
	UseSSL    bool
	// PublicURL is where browsers reach the same server (scheme://host[:port],
	// no path: a rewritten path would break the signature). Empty means
	// browsers cannot reach it, and DownloadURL reports ok=false so the
	// server proxies downloads itself.
	PublicURL string
}

// S3 stores blobs as objects of one bucket.
type S3 struct {
	client *minio.Client
	public *minio.Client // signs download URLs for browsers; nil when none
	bucket string
	region string
}

var _ Store = (*S3)(nil)

// NewS3 connects to the server and creates the bucket when it is missing, so
// a fresh deployment needs no manual step. A server that does not answer
// gives an error wrapping ErrUnavailable.
func NewS3(ctx context.Context, cfg S3Config) (*S3, error) {
	if cfg.Endpoint == "" || cfg.Bucket == "" {
		return nil, errors.New("s3 storage: endpoint and bucket are required")
	}
	client, err := minio.New(cfg.Endpoint, &minio.Options{
		Creds:      credentials.NewStaticV4(cfg.AccessKey, cfg.SecretKey, ""),
		Secure:     cfg.UseSSL,
		Region:     cfg.Region,
		MaxRetries: s3MaxRetries,
	})
	if err != nil {
		return nil, fmt.Errorf("s3 storage %s: %w", cfg.Endpoint, err)
	}
	s := &S3{client: client, bucket: cfg.Bucket, region: cfg.Region}
	if err := s.ensureBucket(ctx); err != nil {
		return nil, fmt.Errorf("s3 storage %s: %w", cfg.Endpoint, err)
	}
	if cfg.PublicURL != "" {
		if s.public, err = s.publicClient(ctx, cfg); err != nil {
			return nil, fmt.Errorf("s3 storage public url %s: %w", cfg.PublicURL, err)
		}
	}
	return s, nil
}

// publicClient builds the client that signs URLs for browsers. Signing is
// offline, but the signature covers the region: it is asked of the internal
// endpoint once here, so the public one is never called from the server.
func (s *S3) publicClient(ctx context.Context, cfg S3Config) (*minio.Client, error) {
	u, err := url.Parse(cfg.PublicURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" {
		return nil, errors.New("must be http(s)://host[:port] without path or query")
	}
	region := cfg.Region
	if region == "" {
		if region, err = s.client.GetBucketLocation(ctx, s.bucket); err != nil {
			return nil, s3Err("bucket location", err)
		}
	}
	return minio.New(u.Host, &minio.Options{
		Creds:  credentials.NewStaticV4(cfg.AccessKey, cfg.SecretKey, ""),
		Secure: u.Scheme == "https",
		Region: region,
	})
}

// Bucket returns the name of the bucket holding the blobs.
func (s *S3) Bucket() string { return s.bucket }

func (s *S3) ensureBucket(ctx context.Context) error {
	exists, err := s.client.BucketExists(ctx, s.bucket)
	if err != nil {
		return s3Err("check bucket "+s.bucket, err)
	}
	if exists {
		return nil
	}
	err = s.client.MakeBucket(ctx, s.bucket, minio.MakeBucketOptions{Region: s.region})
	if err == nil {
		return nil
	}
	// Another instance starting at the same time may have won the race. On
	// AWS "BucketAlreadyExists" may also mean another account owns the name,
	// hence the second look instead of taking it as success.
	var resp minio.ErrorResponse
	if errors.As(err, &resp) {
		switch resp.Code {
		case "BucketAlreadyOwnedByYou":
			return nil
		case "BucketAlreadyExists":
			if ok, err2 := s.client.BucketExists(ctx, s.bucket); err2 == nil && ok {
				return nil
			}
		}
	}
	return s3Err("create bucket "+s.bucket, err)
}

// Put uploads exactly size bytes. The reader is checked while minio-go reads
// it: a short reader fails the upload, and a longer one is caught before its
// last byte is handed over, so the server never completes the object.
// The returned Modified is zero when the server does not send Last-Modified
// on upload (MinIO does not); Stat gives it.
func (s *S3) Put(ctx context.Context, key string, r io.Reader, size int64, contentType string) (Object, error) {
	if err := ValidateKey(key); err != nil {
		return Object{}, err
	}
	if size < 0 {
		return Object{}, fmt.Errorf("put %s: negative size %d: %w", key, size, ErrSizeMismatch)
	}
	if err := ctx.Err(); err != nil {
		return Object{}, fmt.Errorf("put %s: %w", key, err)
	}
	if contentType == "" {
		contentType = octetStream
	}
	er := &exactReader{r: ctxReader{ctx: ctx, r: r}, size: size, remaining: size}
	if size == 0 {
		// minio-go does not read an empty body at all, so look now.
		if err := er.probe(); err != nil {
			return Object{}, fmt.Errorf("put %s: %w", key, err)
		}
	}
	info, err := s.client.PutObject(ctx, s.bucket, key, er, size, minio.PutObjectOptions{ContentType: contentType})
	if er.err != nil {
		if err == nil {
			// Unreachable as exactReader fails before the last byte; should
			// it happen, a truncated blob must not stay under key.
			if rerr := s.client.RemoveObject(ctx, s.bucket, key, minio.RemoveObjectOptions{}); rerr != nil {
				return Object{}, fmt.Errorf("put %s: %w (removing it: %w)", key, er.err, rerr)
			}
		}
		return Object{}, fmt.Errorf("put %s: %w", key, er.err)
	}
	if err != nil {
		return Object{}, s3Err("put "+key, err)
	}
	return Object{Key: key, Size: info.Size, ContentType: contentType, ETag: info.ETag, Modified: info.LastModified}, nil
}

// Get opens the object. The reader fetches through ctx, so it fails once ctx
// is done: keep ctx alive until the reader is closed.
func (s *S3) Get(ctx context.Context, key string) (io.ReadCloser, Object, error) {
	if err := ValidateKey(key); err != nil {
		return nil, Object{}, err
	}
	if err := ctx.Err(); err != nil {
		return nil, Object{}, fmt.Errorf("get %s: %w", key, err)
	}
	obj, err := s.client.GetObject(ctx, s.bucket, key, minio.GetObjectOptions{})
	if err != nil {
		return nil, Object{}, s3Err("get "+key, err)
	}
	// Stat sends the request; GetObject alone only prepares it.
	info, err := obj.Stat()
	if err != nil {
		obj.Close()
		return nil, Object{}, s3Err("get "+key, err)
	}
	return obj, objectOf(info), nil
}

// Stat asks the server for the object's headers.
func (s *S3) Stat(ctx context.Context, key string) (Object, error) {
	if err := ValidateKey(key); err != nil {
		return Object{}, err
	}
	if err := ctx.Err(); err != nil {
		return Object{}, fmt.Errorf("stat %s: %w", key, err)
	}
	info, err := s.client.StatObject(ctx, s.bucket, key, minio.StatObjectOptions{})
	if err != nil {
		return Object{}, s3Err("stat "+key, err)
	}
	return objectOf(info), nil
}

// Delete removes the object; S3 already treats a missing key as success.
func (s *S3) Delete(ctx context.Context, key string) error {
	if err := ValidateKey(key); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("delete %s: %w", key, err)
	}
	if err := s.client.RemoveObject(ctx, s.bucket, key, minio.RemoveObjectOptions{}); err != nil {
		if err = s3Err("delete "+key, err); !errors.Is(err, ErrNotFound) {
			return err
		}
	}
	return nil
}

// DownloadURL presigns a GET whose response carries an attachment
// Content-Disposition, so the browser saves the file under filename. Without
// a public URL it reports ok=false and the server proxies the download.
// mime.FormatMediaType encodes non-ASCII names (RFC 2231) instead of letting
// them break the header.
func (s *S3) DownloadURL(ctx context.Context, key string, ttl time.Duration, filename string) (string, bool, error) {
	if err := ValidateKey(key); err != nil {
		return "", false, err
	}
	if ttl < time.Second || ttl > maxPresignTTL {
		return "", false, fmt.Errorf("download url %s: ttl %s outside [1s, %s]", key, ttl, maxPresignTTL)
	}
	disposition := "attachment"
	if filename != "" {
		if d := mime.FormatMediaType("attachment", map[string]string{"filename": filename}); d != "" {
			disposition = d
		}
	}
	if s.public == nil {
		return "", false, nil
	}
	params := url.Values{"response-content-disposition": {disposition}}
	u, err := s.public.PresignedGetObject(ctx, s.bucket, key, ttl, params)
	if err != nil {
		return "", false, s3Err("download url "+key, err)
	}
	return u.String(), true, nil
}

// Ping checks that the server answers and the bucket is there. Any failure
// wraps ErrUnavailable: for a readiness check the cause is for the logs.
func (s *S3) Ping(ctx context.Context) error {
	exists, err := s.client.BucketExists(ctx, s.bucket)
	if err == nil && !exists {
		err = fmt.Errorf("bucket %s does not exist", s.bucket)
	}
	if err != nil {
		return fmt.Errorf("ping s3 storage: %w", ErrUnavailable.WithCause(err))
	}
	return nil
}

func objectOf(info minio.ObjectInfo) Object {
	return Object{Key: info.Key, Size: info.Size, ContentType: info.ContentType, ETag: info.ETag, Modified: info.LastModified}
}

// s3Err translates minio-go's errors into the package's vocabulary, keeping
// the original as the cause.
func s3Err(op string, err error) error {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("%s: %w", op, err)
	}
	var resp minio.ErrorResponse
	if errors.As(err, &resp) {
		switch {
		case resp.Code == "NoSuchKey" || resp.StatusCode == 404 && resp.Code != "NoSuchBucket":
			return fmt.Errorf("%s: %w", op, ErrNotFound)
		case resp.StatusCode >= 500 || resp.Code == "SlowDown":
			return fmt.Errorf("%s: %w", op, ErrUnavailable.WithCause(err))
		}
		return fmt.Errorf("%s: %w", op, err)
	}
	if netErr := net.Error(nil); errors.As(err, &netErr) {
		return fmt.Errorf("%s: %w", op, ErrUnavailable.WithCause(err))
	}
	return fmt.Errorf("%s: %w", op, err)
}

// exactReader passes on exactly size bytes of r. When the last expected byte
// arrives it probes r for one more, and reports a longer reader as an error
// instead of that last chunk, so the upload is aborted before it completes.
// A short reader is reported with ErrSizeMismatch rather than
// io.ErrUnexpectedEOF, which some minio-go paths tolerate.
type exactReader struct {
	r         io.Reader
	size      int64
	remaining int64
	err       error // first failure, kept to tell it from minio-go's own
}

func (e *exactReader) Read(p []byte) (int, error) {
	if e.err != nil {
		return 0, e.err
	}
	if e.remaining == 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > e.remaining {
		p = p[:e.remaining]
	}
	n, err := e.r.Read(p)
	e.remaining -= int64(n)
	switch {
	case e.remaining == 0:
		if perr := e.probe(); perr != nil {
			e.err = perr
			return 0, perr
		}
		return n, nil
	case err == io.EOF:
		e.err = fmt.Errorf("reader ended after %d of %d bytes: %w", e.size-e.remaining, e.size, ErrSizeMismatch)
		return n, e.err
	case err != nil:
		e.err = err
		return n, err
	}
	return n, nil
}

// probe reads one byte past the expected end: nil when r is exhausted.
func (e *exactReader) probe() error {
	var b [1]byte
	for range 100 {
		n, err := e.r.Read(b[:])
		switch {
		case n > 0:
			return fmt.Errorf("reader holds more than %d bytes: %w", e.size, ErrSizeMismatch)
		case err == io.EOF:
			return nil
		case err != nil:
			return err
		}
	}
	return io.ErrNoProgress
}
