package relay

import (
	"errors"
	"log/slog"
	"net"
	"os"

	"github.com/emersion/go-smtp"
)

// Replies we send, in one place. go-smtp turns any error that is not an
// *smtp.SMTPError into "554 Error: transaction failed: <err text>": a
// permanent refusal that leaks our internals. So every refusal goes
// through reply(), which keeps the client's text apart from the log reason
// and treats anything unknown as temporary (a relay that is unsure must
// ask the client to try again, never bounce).
var (
	errNoSuchUser  = &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "No such mailbox here; this server accepts mail only for its support addresses"}
	errBadSender   = &smtp.SMTPError{Code: 553, EnhancedCode: smtp.EnhancedCode{5, 1, 7}, Message: "Malformed sender address"}
	errBadRcpt     = &smtp.SMTPError{Code: 501, EnhancedCode: smtp.EnhancedCode{5, 1, 3}, Message: "Malformed recipient address"}
	errHeaderBig   = &smtp.SMTPError{Code: 552, EnhancedCode: smtp.EnhancedCode{5, 3, 4}, Message: "Message header too big"}
	errTempLocal   = &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "Local error, message not accepted; try again later"}
	errQueueFull   = &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 1}, Message: "Queue full, try again later"}
	errTimeout     = &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 4, 2}, Message: "Timeout reading the message; try again"}
	errNeedTLS     = &smtp.SMTPError{Code: 530, EnhancedCode: smtp.EnhancedCode{5, 7, 0}, Message: "Must issue a STARTTLS command first"}
	errLineTooLong = &smtp.SMTPError{Code: 500, EnhancedCode: smtp.EnhancedCode{5, 4, 0}, Message: "Line too long"}
	errDMARCReject = &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 7, 1}, Message: "Rejected by the DMARC policy of the sender's domain"}
	errControlChar = &smtp.SMTPError{Code: 501, EnhancedCode: smtp.EnhancedCode{5, 1, 7}, Message: "Control character in address"}
	errSenderLimit = &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 7, 1}, Message: "Too many messages from this sender; try again later"}
)

// reply maps err to what the client sees, logging the real reason.
// reason names the refusal in metrics.
func reply(log *slog.Logger, err error) (*smtp.SMTPError, string) {
	var se *smtp.SMTPError
	if errors.As(err, &se) {
		if se == smtp.ErrDataTooLarge {
			return smtp.ErrDataTooLarge, "too-big"
		}
		return se, reasonOf(se)
	}
	if errors.Is(err, smtp.ErrTooLongLine) {
		return errLineTooLong, "line-too-long"
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		log.Warn("data read timed out", "err", err)
		return errTimeout, "timeout"
	}
	if errors.Is(err, os.ErrDeadlineExceeded) {
		return errTimeout, "timeout"
	}
	log.Error("message not accepted", "err", err)
	return errTempLocal, "local-error"
}

func reasonOf(se *smtp.SMTPError) string {
	switch se {
	case errNoSuchUser:
		return "unknown-recipient"
	case errBadSender:
		return "bad-sender"
	case errBadRcpt:
		return "bad-recipient"
	case errHeaderBig:
		return "header-too-big"
	case errQueueFull:
		return "queue-full"
	case errNeedTLS:
		return "tls-required"
	case errSenderLimit:
		return "sender-limit"
	case errDMARCReject:
		return "dmarc-reject"
	case errControlChar:
		return "control-char"
	}
	return "other"
}
