package storagetest

import (
	"context"
	"crypto/rand"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/berriz/berriz/storage"
)

// Environment read by the S3 helpers; deploy/local/minio.sh writes the first
// three, and `make test` sets the last so that a missing MinIO fails the run
// instead of skipping half of it.
const (
	EnvS3Endpoint      = "BERRIZ_TEST_S3_ENDPOINT" // host:port
	EnvS3AccessKey     = "BERRIZ_TEST_S3_ACCESS_KEY"
	EnvS3SecretKey     = "BERRIZ_TEST_S3_SECRET_KEY"
	EnvRequireServices = "BERRIZ_TEST_REQUIRE_SERVICES"
)

// cleanupTimeout bounds the removal of a test bucket: t.Context() is already
// cancelled when cleanups run.
const cleanupTimeout = 30 * time.Second

// MustDisk returns a disk store in a fresh temporary directory.
func MustDisk(t *testing.T) *storage.Disk {
	t.Helper()
	d, err := storage.NewDisk(t.TempDir())
	if err != nil {
		t.Fatalf("NewDisk: %v", err)
	}
	return d
}

// MustS3 returns an S3 store on a fresh bucket of the test MinIO; the bucket
// and everything in it are removed when the test ends.
func MustS3(t *testing.T) *storage.S3 {
	t.Helper()
	cfg := MustS3Config(t)
	s, err := storage.NewS3(t.Context(), cfg)
	if err != nil {
		t.Fatalf("NewS3 %s: %v", cfg.Endpoint, err)
	}
	return s
}

// MustS3Config returns the configuration of the test MinIO with a fresh,
// unique bucket name, without creating the bucket: tests of bucket creation
// start from here. Whatever bucket of that name exists when the test ends is
// emptied and removed.
//
// Without BERRIZ_TEST_S3_ENDPOINT the test is skipped, or fails when
// BERRIZ_TEST_REQUIRE_SERVICES=1.
func MustS3Config(t *testing.T) storage.S3Config {
	t.Helper()
	endpoint := os.Getenv(EnvS3Endpoint)
	if endpoint == "" {
		if os.Getenv(EnvRequireServices) == "1" {
			t.Fatalf("%s is not set but %s=1: the test MinIO is not running (make test starts it with deploy/local/minio.sh)",
				EnvS3Endpoint, EnvRequireServices)
		}
		t.Skipf("%s is not set: run `make test`, which starts a local MinIO (deploy/local/minio.sh)", EnvS3Endpoint)
	}
	cfg := storage.S3Config{
		Endpoint:  endpoint,
		AccessKey: os.Getenv(EnvS3AccessKey),
		SecretKey: os.Getenv(EnvS3SecretKey),
		Bucket:    bucketName(t.Name()),
		PublicURL: "http://" + endpoint,
	}
	t.Cleanup(func() { removeBucket(t, cfg) })
	return cfg
}

// bucketName builds a valid, unique S3 bucket name (3-63 characters of
// [a-z0-9-]) that still tells which test left it, should cleanup fail.
func bucketName(testName string) string {
	suffix := strings.ToLower(rand.Text()[:10])
	var b strings.Builder
	for _, r := range strings.ToLower(testName) {
		switch {
		case 'a' <= r && r <= 'z' || '0' <= r && r <= '9':
			b.WriteRune(r)
		case b.Len() > 0 && !strings.HasSuffix(b.String(), "-"):
			b.WriteByte('-')
		}
	}
	name := b.String()
	const maxName = 63 - len("bt--") - 10
	if len(name) > maxName {
		name = name[:maxName]
	}
	return "bt-" + strings.Trim(name, "-") + "-" + suffix
}

// removeBucket empties and removes the test bucket, if it exists. Failures
// are reported: a leak would otherwise go unnoticed until the disk fills.
func removeBucket(t *testing.T, cfg storage.S3Config) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), cleanupTimeout)
	defer cancel()
	client, err := minio.New(cfg.Endpoint, &minio.Options{
		Creds:  credentials.NewStaticV4(cfg.AccessKey, cfg.SecretKey, ""),
		Secure: cfg.UseSSL,
	})
	if err != nil {
		t.Errorf("cleanup bucket %s: %v", cfg.Bucket, err)
		return
	}
	exists, err := client.BucketExists(ctx, cfg.Bucket)
	if err != nil {
		t.Errorf("cleanup bucket %s: %v", cfg.Bucket, err)
		return
	}
	if !exists {
		return
	}
	for obj := range client.ListObjects(ctx, cfg.Bucket, minio.ListObjectsOptions{Recursive: true}) {
		if obj.Err != nil {
			t.Errorf("cleanup bucket %s: list: %v", cfg.Bucket, obj.Err)
			return
		}
		if err := client.RemoveObject(ctx, cfg.Bucket, obj.Key, minio.RemoveObjectOptions{}); err != nil {
			t.Errorf("cleanup bucket %s: remove %s: %v", cfg.Bucket, obj.Key, err)
		}
	}
	// Aborted multipart uploads (size mismatch tests) are not objects but
	// would still keep the bucket from being removed on some servers.
	for up := range client.ListIncompleteUploads(ctx, cfg.Bucket, "", true) {
		if up.Err != nil {
			break
		}
		if err := client.RemoveIncompleteUpload(ctx, cfg.Bucket, up.Key); err != nil {
			t.Errorf("cleanup bucket %s: abort upload %s: %v", cfg.Bucket, up.Key, err)
		}
	}
	if err := client.RemoveBucket(ctx, cfg.Bucket); err != nil {
		var resp minio.ErrorResponse
		if errors.As(err, &resp) && resp.Code == "NoSuchBucket" {
			return
		}
		t.Errorf("cleanup bucket %s: %v", cfg.Bucket, err)
	}
}
