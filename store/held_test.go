package store

import (
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

func TestHeldSurvivesRecoverAndDrops(t *testing.T) {
	s, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	m := &Message{ID: NewID(), Inline: true}
	if err := s.Update(func(tx *bolt.Tx) error {
		if err := PutBody(tx, m.ID, []byte("x")); err != nil {
			return err
		}
		return PutMessage(tx, m, &Job{Kind: "forward"}, &Job{Kind: "process"})
	}); err != nil {
		t.Fatal(err)
	}
	lease := func(int) time.Duration { return time.Minute }
	jobs, _ := s.Claim(time.Now(), 2, lease)
	if len(jobs) != 2 {
		t.Fatal(len(jobs))
	}
	var fwd, proc *Job
	for _, j := range jobs {
		if j.Kind == "forward" {
			fwd = j
		} else {
			proc = j
		}
	}
	fwd.Data = []byte(`{"rcpts":["a@b"]}`)
	if err := s.Hold(fwd, "why", nil); err != nil {
		t.Fatal(err)
	}
	s.Finish(proc, nil)
	// A restart's Recover leaves it held; Claim far in the future skips it.
	if n, _ := s.Recover(); n != 0 {
		t.Errorf("Recover touched %d jobs", n)
	}
	if got, _ := s.Claim(time.Now().Add(1000*time.Hour), 10, lease); len(got) != 0 {
		t.Errorf("claimed a held job")
	}
	held, msgs, _ := s.HeldJobs()
	if len(held) != 1 || string(held[0].Data) != `{"rcpts":["a@b"]}` || msgs[0] == nil || msgs[0].ID != m.ID {
		t.Fatalf("held: %+v %+v", held, msgs)
	}
	if n, _ := s.DropHeld("nope"); n != 0 {
		t.Error("dropped another message's job")
	}
	if n, err := s.DropHeld(m.ID); n != 1 || err != nil {
		t.Fatalf("DropHeld = %d, %v", n, err)
	}
	s.View(func(tx *bolt.Tx) error {
		if got, _ := GetMessage(tx, m.ID); got != nil {
			t.Error("message kept after its last job was dropped")
		}
		return nil
	})
}
