package store

// Buckets of the thread state (see threads.go).
var (
	bucketThreads = []byte("threads") // thread id → Thread
	bucketIDs     = []byte("msgids")  // Message-ID → thread id
	bucketTasks   = []byte("tasks")   // Bitrix24 task id → thread id
	bucketSeen    = []byte("seen")    // dedup keys (sender windows, comments sent)
)
