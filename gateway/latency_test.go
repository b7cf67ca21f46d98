package gateway

import (
	"fmt"
	"sort"
	"sync"
	"testing"
	"time"
)

// BenchmarkAutoReplyLatency measures, with 10 parallel senders, the time
// from the 250 at the end of DATA to the smarthost receiving the
// auto-reply (parse, decide, compose, queue, deliver), and reports p50
// and p99. Run by make bench; the goal is p99 under 100 ms.
//
// Paced: each sender sends a message every 50 ms (200 messages/s in all,
// far above what a support mailbox sees). Burst: they send back to back,
// as fast as the gateway accepts, so the queue builds up: that shows the
// saturation point, not the latency a customer sees.
func BenchmarkAutoReplyLatency(b *testing.B) {
	b.Run("paced-200msg/s", func(b *testing.B) { latency(b, 50*time.Millisecond) })
	b.Run("burst", func(b *testing.B) { latency(b, 0) })
}

func latency(b *testing.B, every time.Duration) {
	e := newBenchEnv(b)
	const senders = 10
	n := max(b.N, 200)
	sentAt := make([]time.Time, n)
	var wg sync.WaitGroup
	next := make(chan int)
	b.ResetTimer()
	for range senders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tick := time.Now()
			for i := range next {
				if every > 0 {
					time.Sleep(time.Until(tick))
					tick = tick.Add(every)
				}
				from := fmt.Sprintf("lat%d@customer.test", i)
				if err := sendB(e.g.SMTPAddr(), from, plainMsg(from, "support@example.com", "latency", "x")); err != nil {
					b.Error(err)
					return
				}
				sentAt[i] = time.Now()
			}
		}()
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
	deadline := time.Now().Add(60 * time.Second)
	for len(e.smarthost.Messages()) < n && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	b.StopTimer()
	var lat []time.Duration
	for _, m := range e.smarthost.Messages() {
		var i int
		if _, err := fmt.Sscanf(m.Rcpts[0], "lat%d@customer.test", &i); err == nil && i < n && !sentAt[i].IsZero() {
			lat = append(lat, m.At.Sub(sentAt[i]))
		}
	}
	if len(lat) < n {
		b.Fatalf("%d of %d replies arrived", len(lat), n)
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
}
