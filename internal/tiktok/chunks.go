package tiktok

import "fmt"

// MB is the unit of TikTok's chunk rules. The docs say "MB" but their 4 MB example is 4,194,304 bytes,
// so this package reads MB as a mebibyte (2^20 bytes). Change it here, and only here, if TikTok ever
// says otherwise.
const MB int64 = 1 << 20

// TikTok's chunk rules (media-transfer guide).
const (
	MinChunkSize     = 5 * MB   // smallest chunk; files smaller than this go whole
	MaxChunkSize     = 64 * MB  // largest regular chunk
	MaxLastChunkSize = 128 * MB // the last chunk takes the trailing bytes and may reach this
	MaxChunkCount    = 1000
	// MaxVideoSize is TikTok's "up to 4 GB" per video, read with the same binary unit as MB (4 GiB).
	MaxVideoSize = 4 * 1024 * MB
	// DefaultChunkSize is used when PlanChunks is given no preference.
	DefaultChunkSize = 10 * MB
)

// ChunkPlan is how a file is cut for FILE_UPLOAD; its three numbers go into source_info as they are.
type ChunkPlan struct {
	VideoSize       int64
	ChunkSize       int64
	TotalChunkCount int64
}

// PlanChunks cuts size bytes into chunks as TikTok requires: total_chunk_count = floor(size/chunk), each
// chunk MinChunkSize..MaxChunkSize, the last one taking the remainder (so it stays under
// MaxLastChunkSize), 1..MaxChunkCount chunks, a file under MinChunkSize whole, a file over MaxChunkSize
// in at least two chunks, and no file over MaxVideoSize. preferred (0 for DefaultChunkSize) is clamped
// into the allowed range, shrunk to the file when the file is smaller, halved when it would carry a file
// over MaxChunkSize alone, and grown when it would need more than MaxChunkCount chunks.
func PlanChunks(size, preferred int64) (ChunkPlan, error) {
	if size <= 0 {
		return ChunkPlan{}, fmt.Errorf("plan chunks: video size %d must be positive", size)
	}
	if size > MaxVideoSize {
		return ChunkPlan{}, fmt.Errorf("plan chunks: video size %d exceeds TikTok's %d bytes", size, MaxVideoSize)
	}
	if size < MinChunkSize {
		return ChunkPlan{VideoSize: size, ChunkSize: size, TotalChunkCount: 1}, nil
	}
	chunk := preferred
	if chunk <= 0 {
		chunk = DefaultChunkSize
	}
	chunk = min(max(chunk, MinChunkSize), MaxChunkSize)
	if chunk > size {
		chunk = size // one chunk holding the whole file (size <= MaxChunkSize here)
	}
	if size > MaxChunkSize && size/chunk < 2 {
		chunk = size / 2 // a file over MaxChunkSize cannot go as one chunk; size/2 > MinChunkSize here
	}
	if size/chunk > MaxChunkCount {
		// The smallest chunk that gives at most MaxChunkCount chunks, capped at MaxChunkSize: the last chunk
		// takes the remainder, so 1000 chunks of 64 MiB carry up to 1001 x 64 MiB - 1 bytes.
		chunk = size / MaxChunkCount
		if size%MaxChunkCount != 0 {
			chunk++
		}
		chunk = min(chunk, MaxChunkSize)
		if size/chunk > MaxChunkCount {
			return ChunkPlan{}, fmt.Errorf("plan chunks: %d bytes need more than %d chunks of %d bytes", size, MaxChunkCount, MaxChunkSize)
		}
	}
	p := ChunkPlan{VideoSize: size, ChunkSize: chunk, TotalChunkCount: size / chunk}
	if err := p.Validate(); err != nil {
		return ChunkPlan{}, err
	}
	return p, nil
}

// Validate checks p against TikTok's rules (the simulator applies the same rules independently).
func (p ChunkPlan) Validate() error {
	switch {
	case p.VideoSize <= 0:
		return fmt.Errorf("chunk plan: video size %d must be positive", p.VideoSize)
	case p.VideoSize > MaxVideoSize:
		return fmt.Errorf("chunk plan: video size %d exceeds %d", p.VideoSize, MaxVideoSize)
	case p.VideoSize < MinChunkSize:
		if p.ChunkSize != p.VideoSize || p.TotalChunkCount != 1 {
			return fmt.Errorf("chunk plan: a file under %d bytes goes whole in one chunk", MinChunkSize)
		}
		return nil
	case p.ChunkSize < MinChunkSize || p.ChunkSize > MaxChunkSize:
		return fmt.Errorf("chunk plan: chunk size %d outside %d..%d", p.ChunkSize, MinChunkSize, MaxChunkSize)
	case p.TotalChunkCount != p.VideoSize/p.ChunkSize:
		return fmt.Errorf("chunk plan: total_chunk_count %d, want floor(%d/%d)", p.TotalChunkCount, p.VideoSize, p.ChunkSize)
	case p.TotalChunkCount < 1 || p.TotalChunkCount > MaxChunkCount:
		return fmt.Errorf("chunk plan: %d chunks outside 1..%d", p.TotalChunkCount, MaxChunkCount)
	case p.TotalChunkCount == 1 && p.VideoSize > MaxChunkSize:
		return fmt.Errorf("chunk plan: a file over %d bytes goes in several chunks", MaxChunkSize)
	}
	if _, last := p.Chunk(p.TotalChunkCount - 1); last > MaxLastChunkSize {
		return fmt.Errorf("chunk plan: last chunk %d bytes exceeds %d", last, MaxLastChunkSize)
	}
	return nil
}

// Chunk returns the offset and length of chunk i (0-based): every chunk is ChunkSize bytes except the
// last, which runs to the end of the file.
func (p ChunkPlan) Chunk(i int64) (offset, length int64) {
	offset = i * p.ChunkSize
	if i == p.TotalChunkCount-1 {
		return offset, p.VideoSize - offset
	}
	return offset, p.ChunkSize
}

// ContentRange is the Content-Range header value for chunk i: "bytes FIRST-LAST/TOTAL".
func (p ChunkPlan) ContentRange(i int64) string {
	off, n := p.Chunk(i)
	return byteRange{First: off, Last: off + n - 1, Total: p.VideoSize}.String()
}

// chunkAt returns the index of the chunk starting at offset, or -1 if no chunk starts there.
func (p ChunkPlan) chunkAt(offset int64) int64 {
	if p.ChunkSize <= 0 || offset < 0 || offset%p.ChunkSize != 0 {
		return -1
	}
	i := offset / p.ChunkSize
	if i >= p.TotalChunkCount {
		return -1
	}
	return i
}
