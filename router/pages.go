package router

import (
	"html"
	"net/http"
	"strconv"
)

// writePage writes a small HTML page of the platform carrying the request
// id.
func writePage(w http.ResponseWriter, status int, title, detail, id string) {
	body := pageBody(title, detail, id)
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	w.Write([]byte(body))
}

// pageBody is the HTML of a page of the platform.
func pageBody(title, detail, id string) string {
	return "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>" + html.EscapeString(title) +
		"</title></head>\n<body><h1>" + html.EscapeString(title) + "</h1>\n<p>" + html.EscapeString(detail) +
		"</p>\n<p><small>Request ID: " + html.EscapeString(id) + "</small></p>\n<p><small>paas</small></p></body></html>\n"
}
