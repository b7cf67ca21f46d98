package bitrix

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// UploadFile stores data in Drive folder folderID under name (the portal
// renames on a clash, generateUniqueName) and returns the Drive object id.
// Reference it from tasks and comments as "n"+id (§5). Not retried on an
// unknown outcome (ErrAmbiguous); a duplicate upload is only clutter, so
// callers may choose to upload again.
func (c *Client) UploadFile(ctx context.Context, folderID int64, name string, data []byte) (int64, error) {
	if folderID <= 0 || strings.TrimSpace(name) == "" {
		return 0, errors.New("bitrix disk.folder.uploadfile: folder id and name are required")
	}
	params := struct {
		ID                 int64             `json:"id"`
		Data               map[string]string `json:"data"`
		FileContent        [2]string         `json:"fileContent"` // [name, base64] by position
		GenerateUniqueName bool              `json:"generateUniqueName"`
	}{
		ID:                 folderID,
		Data:               map[string]string{"NAME": name},
		FileContent:        [2]string{name, base64.StdEncoding.EncodeToString(data)},
		GenerateUniqueName: true,
	}
	var res struct {
		ID ID `json:"ID"`
	}
	if _, err := c.call(ctx, "disk.folder.uploadfile", params, create, &res); err != nil {
		return 0, err
	}
	if res.ID <= 0 {
		return 0, &AmbiguousError{Method: "disk.folder.uploadfile",
			Err: &Error{Method: "disk.folder.uploadfile", Description: "answer has no file id", HTTPStatus: 200}}
	}
	return int64(res.ID), nil
}

// Download fetches a file URL from a comment, chat message or Drive
// object. Relative URLs ("/bitrix/tools/disk/uf.php?...") are resolved
// against the portal; absolute ones must point at the portal's host, so a
// forged URL cannot make us fetch from elsewhere. Bodies larger than
// Options.MaxDownload are refused.
func (c *Client) Download(ctx context.Context, rawURL string) ([]byte, error) {
	const method = "download"
	ref, err := url.Parse(strings.TrimSpace(rawURL))
	if err != nil || rawURL == "" {
		return nil, &Error{Method: method, Description: "bad URL"}
	}
	u := c.origin.ResolveReference(ref)
	if !strings.EqualFold(u.Host, c.origin.Host) || (u.Scheme != "https" && u.Scheme != "http") {
		return nil, &Error{Method: method, Description: "URL is not on the portal " + c.origin.Host}
	}
	if err := c.lim.wait(ctx); err != nil {
		return nil, fmt.Errorf("bitrix %s: %w", method, err)
	}
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, &Error{Method: method, Description: "bad URL"}
	}
	// The docs ask for browser-like headers on downloads (§5).
	req.Header.Set("User-Agent", c.userAgent)
	req.Header.Set("Accept", "*/*")
	req.Header.Set("Accept-Language", "en")
	req.Header.Set("Referer", c.origin.String()+"/")
	resp, err := c.dl.Do(req)
	if err != nil {
		return nil, c.netErr(method, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, &Error{Method: method, HTTPStatus: resp.StatusCode, Description: http.StatusText(resp.StatusCode)}
	}
	if resp.ContentLength > c.maxDL {
		return nil, &Error{Method: method, HTTPStatus: resp.StatusCode, Description: "file larger than the download limit"}
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, c.maxDL+1))
	if err != nil {
		return nil, c.netErr(method, err)
	}
	if int64(len(data)) > c.maxDL {
		return nil, &Error{Method: method, HTTPStatus: resp.StatusCode, Description: "file larger than the download limit"}
	}
	return data, nil
}
