// Package web embeds everything berriz sends to browsers: HTML templates,
// static files (CSS, icons, the few page scripts) and the translation
// catalogs. There is no build step: what is here is what is served.
package web

import (
	"embed"
	"io/fs"
)

//go:embed templates static i18n
var files embed.FS

// Templates holds the html/template files: layout.html and one file a page.
func Templates() fs.FS { return sub("templates") }

// Static holds the files served under fingerprinted /static/ URLs.
func Static() fs.FS { return sub("static") }

// Catalogs holds the translation catalogs: <lang>/<area>.json.
func Catalogs() fs.FS { return sub("i18n") }

func sub(dir string) fs.FS {
	f, err := fs.Sub(files, dir)
	if err != nil {
		panic(err) // the directory is embedded at compile time
	}
	return f
}
