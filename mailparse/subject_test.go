package mailparse

import "testing"

// Cases 36 and 37 of docs/autoreply-rules.md §7, plus its §3 rules:
// counters, full-width colon, list
// tags, [fwd: …], (fwd), French spacing.
func TestNormalizeSubject(t *testing.T) {
	tests := []struct{ in, want string }{
		{"RE: AW: Re[2]: Отв: Fwd: тема", "тема"},
		{"SV: VS: x", "x"},
		{"回复: 转发: x", "x"},
		{"R: I: x", "x"},
		{"Note: meeting", "Note: meeting"},
		{"Ответ на вопрос", "Ответ на вопрос"},
		{"Ответ: вопрос", "вопрос"},
		{"Пересл: Отв: документы", "документы"},
		{"Re(3): FW: Счёт", "Счёт"},
		{"AW[50]: WG: Angebot", "Angebot"},
		{"Re^2: x", "x"},
		{"Re： 全角", "全角"},
		{"RE : Bonjour", "Bonjour"},
		{"[support] Re: [list] problem", "problem"},
		{"Re: Printer [#123]", "Printer"},
		{"[Ticket#4567] Re: Printer", "Printer"},
		{"[fwd: Re: hello]", "hello"},
		{"hello (fwd)", "hello"},
		{"  Re:   many    spaces  ", "many spaces"},
		{"[urgent]", "[urgent]"},
		{"Re[: x", "Re[: x"},
		{"Automatic reply: x", "Automatic reply: x"},
		{"Re:", ""},
		{"Rendezvous: 5pm", "Rendezvous: 5pm"},
	}
	for _, tc := range tests {
		if got := NormalizeSubject(tc.in); got != tc.want {
			t.Errorf("NormalizeSubject(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestTaskTag(t *testing.T) {
	tests := []struct {
		in   string
		id   int64
		isOK bool
	}{
		{"Re: Printer [#123]", 123, true},
		{"[Ticket#4567] Printer", 4567, true},
		{"[TICKET#7] x", 7, true},
		{"[[#9]", 9, true},
		{"[# 5] x", 0, false},
		{"[#-5] x", 0, false},
		{"[#0]", 0, false},
		{"[#99999999999999999999]", 0, false},
		{"#123 without brackets", 0, false},
		{"[#12] first [#34] second", 12, true},
	}
	for _, tc := range tests {
		if id, ok := TaskTag(tc.in); id != tc.id || ok != tc.isOK {
			t.Errorf("TaskTag(%q) = %d, %v; want %d, %v", tc.in, id, ok, tc.id, tc.isOK)
		}
	}
}

func TestTagSubject(t *testing.T) {
	tests := []struct {
		in   string
		id   int64
		want string
	}{
		{"Printer", 5, "Printer [#5]"},
		{"Printer [#5]", 5, "Printer [#5]"},
		{"[#5] Printer", 5, "[#5] Printer"},
		{"Printer [#6] ", 5, "Printer [#6] [#5]"},
		{"", 5, "[#5]"},
	}
	for _, tc := range tests {
		if got := TagSubject(tc.in, tc.id); got != tc.want {
			t.Errorf("TagSubject(%q, %d) = %q, want %q", tc.in, tc.id, got, tc.want)
		}
	}
}
