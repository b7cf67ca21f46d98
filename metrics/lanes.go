package metrics

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"supportgate/queue"
)

// laneCollector reads the queue lanes' backpressure at scrape time.
type laneCollector struct {
	depth, age, running *prometheus.Desc
}

var (
	lanesOnce   sync.Once
	lanesRunner atomic.Pointer[queue.Runner]
)

// WatchLanesOnce makes the per-lane gauges read r: jobs queued, the age
// of the oldest queued job, and jobs running, by lane (mail, reply,
// portal). Registered once per process; the newest runner wins.
func WatchLanesOnce(r *queue.Runner) {
	lanesRunner.Store(r)
	lanesOnce.Do(func() {
		Registry.MustRegister(&laneCollector{
			depth:   prometheus.NewDesc("supportgate_lane_queued", "Jobs queued (due or waiting for a retry) by lane.", []string{"lane"}, nil),
			age:     prometheus.NewDesc("supportgate_lane_oldest_seconds", "Age of the lane's oldest queued job (0 when none).", []string{"lane"}, nil),
			running: prometheus.NewDesc("supportgate_lane_running", "Jobs running now by lane.", []string{"lane"}, nil),
		})
	})
}

func (c *laneCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.depth
	ch <- c.age
	ch <- c.running
}

func (c *laneCollector) Collect(ch chan<- prometheus.Metric) {
	r := lanesRunner.Load()
	if r == nil {
		return
	}
	stats, err := r.LaneStats()
	if err != nil {
		return
	}
	for _, ls := range stats {
		age := 0.0
		if !ls.OldestQueued.IsZero() {
			age = time.Since(ls.OldestQueued).Seconds()
		}
		ch <- prometheus.MustNewConstMetric(c.depth, prometheus.GaugeValue, float64(ls.Queued), ls.Lane)
		ch <- prometheus.MustNewConstMetric(c.age, prometheus.GaugeValue, age, ls.Lane)
		ch <- prometheus.MustNewConstMetric(c.running, prometheus.GaugeValue, float64(ls.Running), ls.Lane)
	}
}
