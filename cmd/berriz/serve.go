package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"

	"github.com/berriz/berriz/internal/config"
	"github.com/berriz/berriz/internal/mail"
	"github.com/berriz/berriz/internal/postgres"
	"github.com/berriz/berriz/internal/server"
	"github.com/berriz/berriz/storage"
)

func cmdServe(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stdout, "Usage: berriz serve\n\nRuns the web server until SIGTERM or SIGINT, then finishes in-flight requests.\n\n")
		fmt.Fprint(stdout, config.Usage())
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg, err := config.Load(getenv)
	if err != nil {
		return err
	}
	log := newLogger(cfg, stderr)
	log.Info("starting berriz", "version", versionString(), "env", cfg.Env, "storage", cfg.Storage)

	db, err := openDatabase(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer db.Close()
	if cfg.AutoMigrate {
		if err := migrateUp(ctx, db, log); err != nil {
			return err
		}
	}
	if _, err := db.CheckSchema(ctx); err != nil {
		return fmt.Errorf("refusing to start: %w", err)
	}

	store, err := openStorage(ctx, cfg)
	if err != nil {
		return err
	}
	mailer, err := mail.New(mailConfig(cfg), log)
	if err != nil {
		return fmt.Errorf("mail: %w", err)
	}
	srv, err := server.New(server.Deps{Config: cfg, Logger: log, Store: db, Files: store, Mailer: mailer})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.Listen, err)
	}
	log.Info("listening", "address", "http://"+ln.Addr().String(), "public_url", cfg.PublicURL.String())
	jobsCtx, stopJobs := context.WithCancel(ctx)
	defer stopJobs()
	go srv.RunJobs(jobsCtx)
	return server.Serve(ctx, ln, srv.Handler(), cfg.ShutdownTimeout, log)
}

func mailConfig(cfg config.Config) mail.Config {
	return mail.Config{
		Host:     cfg.SMTPHost,
		Port:     cfg.SMTPPort,
		Username: cfg.SMTPUsername,
		Password: cfg.SMTPPassword,
		From:     cfg.SMTPFrom,
		TLS:      cfg.SMTPTLS,
	}
}

func newLogger(cfg config.Config, w io.Writer) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(cfg.LogLevel))
	opts := &slog.HandlerOptions{Level: level}
	if cfg.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

func openDatabase(ctx context.Context, cfg config.Config, log *slog.Logger) (*postgres.DB, error) {
	db, err := postgres.Open(ctx, postgres.Options{
		URL:             cfg.DatabaseURL,
		MaxOpenConns:    cfg.DBMaxOpenConns,
		MaxIdleConns:    cfg.DBMaxIdleConns,
		ConnMaxLifetime: cfg.DBConnMaxLifetime,
		ConnMaxIdleTime: cfg.DBConnMaxIdleTime,
		ConnectTimeout:  cfg.DBConnectTimeout,
		Logger:          log,
	})
	if err != nil {
		return nil, fmt.Errorf("database: %w", err)
	}
	return db, nil
}

func openStorage(ctx context.Context, cfg config.Config) (storage.Store, error) {
	switch cfg.Storage {
	case "s3":
		s, err := storage.NewS3(ctx, storage.S3Config{
			Endpoint:  cfg.S3Endpoint,
			AccessKey: cfg.S3AccessKey,
			SecretKey: cfg.S3SecretKey,
			Bucket:    cfg.S3Bucket,
			Region:    cfg.S3Region,
			UseSSL:    cfg.S3UseSSL,
			PublicURL: cfg.S3PublicURL,
		})
		if err != nil {
			return nil, fmt.Errorf("storage: %w", err)
		}
		return s, nil
	default:
		d, err := storage.NewDisk(cfg.StorageDir)
		if err != nil {
			return nil, fmt.Errorf("storage: %w", err)
		}
		return d, nil
	}
}
