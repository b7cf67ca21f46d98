// Package metrics defines supportgate's Prometheus metrics in one place, so
// an operator can read the list and a test can read the values.
package metrics

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"supportgate/store"
)

var (
	// Registry holds everything /metrics serves.
	Registry = prometheus.NewRegistry()

	Sessions = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "supportgate_smtp_sessions_total", Help: "SMTP connections accepted."})
	ActiveSessions = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "supportgate_smtp_sessions_active", Help: "SMTP connections open now."})
	Accepted = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "supportgate_messages_accepted_total", Help: "Messages spooled and answered 250."})
	AcceptedBytes = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "supportgate_messages_accepted_bytes_total", Help: "Bytes of accepted messages."})
	Rejected = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "supportgate_smtp_rejected_total", Help: "Refused commands and messages, by reason."},
		[]string{"reason"})
	AcceptLatency = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name: "supportgate_accept_seconds", Help: "From end of DATA to the 250 (spool fsync + commit).",
		Buckets: prometheus.ExponentialBuckets(0.0005, 2, 14)})
	JobRuns = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "supportgate_job_runs_total", Help: "Job attempts by kind and outcome (done, retry, later, failed)."},
		[]string{"kind", "outcome"})
	DeliveryLatency = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "supportgate_job_latency_seconds", Help: "From message arrival to the job's success, by kind.",
		Buckets: prometheus.ExponentialBuckets(0.005, 2, 18)}, []string{"kind"})
	AutoReplies = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "supportgate_autoreply_decisions_total", Help: "Auto-reply decisions by reason code."},
		[]string{"reason"})
	Bitrix = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "supportgate_bitrix_calls_total", Help: "Bitrix24 calls by method and result."},
		[]string{"method", "result"})
	Events = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "supportgate_bitrix_events_total", Help: "Bitrix24 event calls by result."},
		[]string{"result"})
	LimitHits = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "supportgate_limit_hits_total", Help: "Abuse limits hit, by limit."},
		[]string{"limit"})
	PortalRequests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "supportgate_bitrix_requests_total",
		Help: "HTTP requests to the portal (each one unit of its leaky bucket) by kind (batch, single) and outcome (ok, refused, error)."},
		[]string{"kind", "outcome"})
	PortalBatchCalls = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name: "supportgate_bitrix_batch_calls", Help: "Calls carried by each batch request (at most 50).",
		Buckets: []float64{1, 2, 5, 10, 20, 30, 40, 50}})
	ConfigReloads = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "supportgate_config_reloads_total", Help: "Config reloads by result."},
		[]string{"result"})
)

func init() {
	Registry.MustRegister(Sessions, ActiveSessions, Accepted, AcceptedBytes, Rejected, AcceptLatency,
		JobRuns, DeliveryLatency, AutoReplies, Bitrix, Events, LimitHits, ConfigReloads,
		PortalRequests, PortalBatchCalls,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
}

// queueCollector reads the queue's state at scrape time.
type queueCollector struct {
	jobs *prometheus.Desc
	msgs *prometheus.Desc
	size *prometheus.Desc
	age  *prometheus.Desc
}

var (
	watchOnce sync.Once
	current   atomic.Pointer[store.Store]
)

// WatchQueueOnce makes the queue gauges read st: jobs by kind and state,
// spooled messages and bytes, and the age of the oldest job. Registered
// once per process; tests that start several gateways point it at the
// newest store.
func WatchQueueOnce(st *store.Store) {
	current.Store(st)
	watchOnce.Do(func() { watchQueue() })
}

func watchQueue() {
	Registry.MustRegister(&queueCollector{
		jobs: prometheus.NewDesc("supportgate_queue_jobs", "Jobs in the queue by kind and state.", []string{"kind", "state"}, nil),
		msgs: prometheus.NewDesc("supportgate_queue_messages", "Messages in the spool.", nil, nil),
		size: prometheus.NewDesc("supportgate_queue_bytes", "Bytes in the spool.", nil, nil),
		age:  prometheus.NewDesc("supportgate_queue_oldest_seconds", "Age of the oldest job (0 when empty).", nil, nil),
	})
}

func (c *queueCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.jobs
	ch <- c.msgs
	ch <- c.size
	ch <- c.age
}

func (c *queueCollector) Collect(ch chan<- prometheus.Metric) {
	s := current.Load()
	if s == nil {
		return
	}
	st, err := s.Stats()
	if err != nil {
		return
	}
	for k, n := range st.Jobs {
		ch <- prometheus.MustNewConstMetric(c.jobs, prometheus.GaugeValue, float64(n), k[0], k[1])
	}
	ch <- prometheus.MustNewConstMetric(c.msgs, prometheus.GaugeValue, float64(st.Messages))
	ch <- prometheus.MustNewConstMetric(c.size, prometheus.GaugeValue, float64(st.SpoolBytes))
	age := 0.0
	if !st.OldestCreated.IsZero() {
		age = time.Since(st.OldestCreated).Seconds()
	}
	ch <- prometheus.MustNewConstMetric(c.age, prometheus.GaugeValue, age)
}
