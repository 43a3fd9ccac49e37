package notify

// Calm reports whether the follower would sync a new solution at once: its run loop waits for
// a wake, with no pause left and none pending (BenchmarkSolutionDelivery waits for it).
func (f *MiningFollower) Calm() bool { return f.idle.Load() && len(f.wake) == 0 }
