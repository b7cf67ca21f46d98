package webform

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"supportgate/rules"
)

// captchaOK asks the verify URL whether token is a solved captcha. The
// request is Yandex SmartCaptcha's validate API (servers in Russia, so
// the check keeps personal data in the country, 152-FZ): POST
// secret, token and ip as a form; the answer {"status":"ok"} passes,
// anything else fails. Any provider answering the same way works. An
// unreachable provider fails the check (the person is asked to try again),
// never lets a post through unchecked.
func (h *Handler) captchaOK(ctx context.Context, wf *rules.Webform, token, ip string) (bool, error) {
	if strings.TrimSpace(token) == "" {
		return false, nil
	}
	secret, err := rules.Secret("", wf.CaptchaSecretFile)
	if err != nil {
		return false, fmt.Errorf("webform.captcha_secret_file: %w", err)
	}
	form := url.Values{"secret": {secret}, "token": {token}, "ip": {ip}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, wf.CaptchaVerifyURL, strings.NewReader(form.Encode()))
	if err != nil {
		return false, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := h.client.Do(req)
	if err != nil {
		return false, err
	}
	defer resp.Body.Close()
	var out struct {
		Status  string `json:"status"`
		Message string `json:"message"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 64<<10)).Decode(&out); err != nil {
		return false, fmt.Errorf("captcha verify: HTTP %d, not JSON: %v", resp.StatusCode, err)
	}
	if resp.StatusCode != http.StatusOK && out.Status != "ok" {
		return false, fmt.Errorf("captcha verify: HTTP %d %s", resp.StatusCode, out.Message)
	}
	return out.Status == "ok", nil
}
