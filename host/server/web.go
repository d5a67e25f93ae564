package server

import (
	"embed"
	"io/fs"
)

// webFiles is the chat page served at "/" unless Config.Web says otherwise.
//
//go:embed web
var webFiles embed.FS

func defaultWeb() fs.FS {
	sub, err := fs.Sub(webFiles, "web")
	if err != nil {
		panic(err) // "web" is embedded above
	}
	return sub
}
