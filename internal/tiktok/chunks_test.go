package tiktok

import (
	"fmt"
	"math"
	"strconv"
	"testing"
)

func TestPlanChunks(t *testing.T) {
	for _, tc := range []struct {
		name            string
		size, preferred int64
		want            ChunkPlan
		lastLen         int64
		wantErr         bool
	}{
		{"issue example", 50_000_123, 10_000_000, ChunkPlan{50_000_123, 10_000_000, 5}, 10_000_123, false},
		{"100 MiB cannot go as one chunk of 64 MiB", 100 * MB, 64 * MB, ChunkPlan{100 * MB, 50 * MB, 2}, 50 * MB, false},
		{"just over 64 MiB is two chunks", 64*MB + 1, 64 * MB, ChunkPlan{64*MB + 1, 32 * MB, 2}, 32*MB + 1, false},
		{"under 5 MiB goes whole", 4_194_304, 10 * MB, ChunkPlan{4_194_304, 4_194_304, 1}, 4_194_304, false},
		{"one byte", 1, 0, ChunkPlan{1, 1, 1}, 1, false},
		{"exactly 5 MiB", 5 * MB, 5 * MB, ChunkPlan{5 * MB, 5 * MB, 1}, 5 * MB, false},
		{"preferred larger than file", 20 * MB, 64 * MB, ChunkPlan{20 * MB, 20 * MB, 1}, 20 * MB, false},
		{"preferred below minimum is raised", 30 * MB, MB, ChunkPlan{30 * MB, 5 * MB, 6}, 5 * MB, false},
		{"preferred above maximum is lowered", 300 * MB, 100 * MB, ChunkPlan{300 * MB, 64 * MB, 4}, 300*MB - 3*64*MB, false},
		{"default chunk", 25*MB + 1, 0, ChunkPlan{25*MB + 1, 10 * MB, 2}, 15*MB + 1, false},
		{"4 GiB is the largest video", 4096 * MB, 5 * MB, ChunkPlan{4096 * MB, 5 * MB, 819}, 4096*MB - 818*5*MB, false},
		{"over 4 GiB is refused", 4096*MB + 1, 64 * MB, ChunkPlan{}, 0, true},
		{"4 GB at 64 MiB", 4_000_000_000, 64 * MB, ChunkPlan{4_000_000_000, 64 * MB, 59}, 4_000_000_000 - 58*64*MB, false},
		{"zero", 0, 0, ChunkPlan{}, 0, true},
		{"too large for 1000 x 64 MiB (and for 4 GiB)", 1001 * 64 * MB, 64 * MB, ChunkPlan{}, 0, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := PlanChunks(tc.size, tc.preferred)
			if tc.wantErr {
				if err == nil {
					t.Fatalf("PlanChunks(%d, %d) = %+v, want an error", tc.size, tc.preferred, p)
				}
				return
			}
			if err != nil || p != tc.want {
				t.Fatalf("PlanChunks(%d, %d) = %+v, %v; want %+v", tc.size, tc.preferred, p, err, tc.want)
			}
			if _, n := p.Chunk(p.TotalChunkCount - 1); n != tc.lastLen {
				t.Fatalf("last chunk %d bytes, want %d", n, tc.lastLen)
			}
			// The chunks tile the file exactly, in order.
			var next int64
			for i := int64(0); i < p.TotalChunkCount; i++ {
				off, n := p.Chunk(i)
				if off != next || n <= 0 {
					t.Fatalf("chunk %d at %d+%d, want offset %d", i, off, n, next)
				}
				next = off + n
			}
			if next != tc.size {
				t.Fatalf("chunks cover %d bytes of %d", next, tc.size)
			}
		})
	}
}

func TestContentRangeOfIssueExample(t *testing.T) {
	p, _ := PlanChunks(50_000_123, 10_000_000)
	want := []string{
		"bytes 0-9999999/50000123", "bytes 10000000-19999999/50000123", "bytes 20000000-29999999/50000123",
		"bytes 30000000-39999999/50000123", "bytes 40000000-50000122/50000123",
	}
	for i, w := range want {
		if got := p.ContentRange(int64(i)); got != w {
			t.Errorf("chunk %d: %q, want %q", i, got, w)
		}
	}
}

func TestValidateRejectsBadPlans(t *testing.T) {
	for _, p := range []ChunkPlan{
		{50_000_123, 10_000_000, 6},   // count is not floor(size/chunk)
		{1000, 500, 2},                // small file must go whole
		{200 * MB, 4 * MB, 50},        // chunk below 5 MiB
		{200 * MB, 65 * MB, 3},        // chunk above 64 MiB
		{130 * MB, 64 * MB, 1},        // last chunk above 128 MiB
		{100 * MB, 64 * MB, 1},        // a file over 64 MiB as one chunk
		{4096*MB + 1, 64 * MB, 64},    // over 4 GiB
		{2000 * 5 * MB, 5 * MB, 2000}, // more than 1000 chunks
	} {
		if err := p.Validate(); err == nil {
			t.Errorf("Validate(%+v) accepted", p)
		}
	}
}

func TestResumeOffset(t *testing.T) {
	for _, tc := range []struct {
		header, value string
		want          int64
		ok            bool
	}{
		{"Content-Range", "bytes 0-5242879/12582919", 5242880, true},
		{"Content-Range", "bytes */12582919", 0, true},
		{"Range", "bytes=0-99", 100, true},
		{"Content-Range", "bytes 10-99/200", 0, false},
		{"Content-Range", "garbage", 0, false},
	} {
		h := map[string][]string{tc.header: {tc.value}}
		got, ok := resumeOffset(h)
		if got != tc.want || ok != tc.ok {
			t.Errorf("%s: %q -> %d %v, want %d %v", tc.header, tc.value, got, ok, tc.want, tc.ok)
		}
	}
}

func ExamplePlanChunks() {
	p, _ := PlanChunks(50_000_123, 10_000_000)
	_, last := p.Chunk(p.TotalChunkCount - 1)
	fmt.Println(p.TotalChunkCount, p.ChunkSize, last)
	// Output: 5 10000000 10000123
}

// FuzzPlanChunks: for any size and preference, PlanChunks returns a plan that obeys TikTok's rules, or
// an error exactly when no plan can (size <= 0, or size > MaxVideoSize, TikTok's 4 GiB). The chunks tile the file without gap or overlap, each
// chunk's Content-Range says so, and a preference that fits the rules is kept.
func FuzzPlanChunks(f *testing.F) {
	for _, s := range [][2]int64{
		{50_000_123, 10_000_000}, {1, 0}, {MinChunkSize - 1, 0}, {MinChunkSize, MinChunkSize}, {MinChunkSize + 1, MinChunkSize},
		{100 * MB, 64 * MB}, {300 * MB, 100 * MB}, {6000 * MB, 5 * MB}, {4_000_000_000, 64 * MB},
		{1000 * MaxChunkSize, 0}, {1000*MaxChunkSize + 1, 5 * MB}, {1001*MaxChunkSize - 1, MB}, {1001 * MaxChunkSize, MaxChunkSize},
		{0, 0}, {-1, 5 * MB}, {math.MaxInt64, 0}, {math.MaxInt64 - 500, math.MaxInt64}, {129 * MB, math.MinInt64},
	} {
		f.Add(s[0], s[1])
	}
	const largest = MaxVideoSize // the largest file TikTok takes
	f.Fuzz(func(t *testing.T, size, preferred int64) {
		p, err := PlanChunks(size, preferred)
		feasible := size > 0 && size <= largest
		if err != nil {
			if feasible {
				t.Fatalf("PlanChunks(%d, %d): %v, but %d bytes fit TikTok's rules", size, preferred, err, size)
			}
			if p != (ChunkPlan{}) {
				t.Fatalf("PlanChunks(%d, %d) returned %+v with its error", size, preferred, p)
			}
			return
		}
		if !feasible {
			t.Fatalf("PlanChunks(%d, %d) = %+v, but no plan can carry %d bytes", size, preferred, p, size)
		}
		if verr := p.Validate(); verr != nil {
			t.Fatalf("PlanChunks(%d, %d) = %+v, which Validate refuses: %v", size, preferred, p, verr)
		}
		if p.VideoSize != size || p.TotalChunkCount < 1 || p.TotalChunkCount > MaxChunkCount {
			t.Fatalf("PlanChunks(%d, %d) = %+v", size, preferred, p)
		}
		if size < MinChunkSize && (p.ChunkSize != size || p.TotalChunkCount != 1) {
			t.Fatalf("PlanChunks(%d, %d) = %+v: a file under %d bytes goes whole", size, preferred, p, MinChunkSize)
		}
		var next int64
		for i := int64(0); i < p.TotalChunkCount; i++ {
			off, n := p.Chunk(i)
			if off != next || n <= 0 {
				t.Fatalf("%+v: chunk %d at %d+%d, want offset %d", p, i, off, n, next)
			}
			last := i == p.TotalChunkCount-1
			switch {
			case size < MinChunkSize:
			case !last && (n != p.ChunkSize || n < MinChunkSize || n > MaxChunkSize):
				t.Fatalf("%+v: chunk %d has %d bytes", p, i, n)
			case last && (n < MinChunkSize || n > MaxLastChunkSize):
				t.Fatalf("%+v: last chunk has %d bytes", p, n)
			}
			if cr := p.ContentRange(i); cr != "bytes "+strconv.FormatInt(off, 10)+"-"+strconv.FormatInt(off+n-1, 10)+"/"+strconv.FormatInt(size, 10) {
				t.Fatalf("%+v: chunk %d Content-Range %q", p, i, cr)
			}
			next = off + n
		}
		if next != size {
			t.Fatalf("%+v: chunks cover %d bytes of %d", p, next, size)
		}
		if size >= MinChunkSize && preferred >= MinChunkSize && preferred <= MaxChunkSize && preferred <= size &&
			size/preferred <= MaxChunkCount && (size <= MaxChunkSize || size/preferred >= 2) && p.ChunkSize != preferred {
			t.Fatalf("PlanChunks(%d, %d) = %+v: the preference fits the rules but was not kept", size, preferred, p)
		}
	})
}
