package bitrixtest

import (
	"mime"
	"net/http"
	"strconv"
	"strings"
)

// attachmentURL is the portal-relative download link of a comment
// attachment, as task.commentitem.get gives it (§3.1).
func attachmentURL(attachID int64) string {
	return "/bitrix/tools/disk/uf.php?attachedId=" + strconvI(attachID) + "&action=download&ncc=1"
}

// diskURL is the absolute DOWNLOAD_URL of a Drive object (§5). The real
// one carries a token, not the webhook secret; ours does the same.
func (p *Portal) diskURL(fileID int64) string {
	return p.srv.URL + "/rest/download.json?token=disk%7C" + strconvI(fileID) + "%7Cfake"
}

// chatFileURL is the urlDownload of a chat file.
func chatFileURL(fileID int64, name string) string {
	return "/disk/downloadFile/" + strconvI(fileID) + "/?&ncc=1&filename=" + name
}

// serveDownload answers the three download URL shapes above with the
// stored bytes, 404 otherwise.
func (p *Portal) serveDownload(w http.ResponseWriter, r *http.Request) {
	var fileID int64
	q := r.URL.Query()
	p.mu.Lock()
	switch {
	case strings.HasPrefix(r.URL.Path, "/bitrix/tools/disk/uf.php"):
		a, _ := strconv.ParseInt(q.Get("attachedId"), 10, 64)
		fileID = p.attachments[a]
	case strings.HasPrefix(r.URL.Path, "/disk/downloadFile/"):
		s, _, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/disk/downloadFile/"), "/")
		fileID, _ = strconv.ParseInt(s, 10, 64)
	default:
		parts := strings.Split(q.Get("token"), "|")
		if len(parts) == 3 && parts[0] == "disk" {
			fileID, _ = strconv.ParseInt(parts[1], 10, 64)
		}
	}
	f, ok := p.files[fileID]
	var data []byte
	var name string
	if ok {
		data, name = f.Data, f.Name
	}
	p.mu.Unlock()
	if !ok || r.Method != http.MethodGet {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": name}))
	w.Header().Set("Content-Length", strconv.Itoa(len(data)))
	_, _ = w.Write(data)
}
