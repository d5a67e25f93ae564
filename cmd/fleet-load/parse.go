package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strconv"
	"strings"
)

// sseReader reads Server-Sent Events (the parts of the format Fleet sends: "id:" and "data:"
// fields, comments, LF or CRLF line ends). Other fields are ignored, as a browser does.
type sseReader struct {
	r    *bufio.Reader
	line []byte
	data []byte
	id   []byte
	hasD bool
}

// sseMaxLine bounds one line (a frame is at most a few hundred KiB; the server bounds nothing).
const sseMaxLine = 8 << 20

// errLineTooLong is returned for a line over sseMaxLine.
var errLineTooLong = errors.New("sse: line too long")

func newSSEReader(r io.Reader) *sseReader {
	return &sseReader{r: bufio.NewReaderSize(r, 64<<10)}
}

// reset reuses the reader (and its buffers) on another body.
func (s *sseReader) reset(r io.Reader) {
	s.r.Reset(r)
	s.data, s.id, s.hasD = s.data[:0], s.id[:0], false
}

// next returns the next event's id ("" when it has none) and data. Both are valid until the next
// call. An event cut off by the end of the stream is dropped (io.EOF), as the format says.
func (s *sseReader) next() (id, data []byte, err error) {
	s.data, s.id, s.hasD = s.data[:0], s.id[:0], false
	for {
		line, err := s.readLine()
		if err != nil {
			return nil, nil, err
		}
		if len(line) == 0 {
			if s.hasD {
				return s.id, s.data, nil
			}
			s.id = s.id[:0]
			continue
		}
		s.field(line)
	}
}

// field applies one non-empty line.
func (s *sseReader) field(line []byte) {
	if line[0] == ':' {
		return // a comment (": ping")
	}
	name, value, found := bytes.Cut(line, []byte(":"))
	if found && len(value) > 0 && value[0] == ' ' {
		value = value[1:]
	}
	switch string(name) {
	case "data":
		if s.hasD {
			s.data = append(s.data, '\n')
		}
		s.data = append(s.data, value...)
		s.hasD = true
	case "id":
		s.id = append(s.id[:0], value...)
	}
}

// readLine returns one line without its line end.
func (s *sseReader) readLine() ([]byte, error) {
	s.line = s.line[:0]
	for {
		chunk, err := s.r.ReadSlice('\n')
		if len(s.line)+len(chunk) > sseMaxLine {
			return nil, errLineTooLong
		}
		switch {
		case err == nil && len(s.line) == 0:
			return trimEOL(chunk), nil
		case err == nil:
			s.line = append(s.line, chunk...)
			return trimEOL(s.line), nil
		case errors.Is(err, bufio.ErrBufferFull):
			s.line = append(s.line, chunk...)
		default:
			return nil, err
		}
	}
}

func trimEOL(b []byte) []byte {
	b = bytes.TrimSuffix(b, []byte("\n"))
	return bytes.TrimSuffix(b, []byte("\r"))
}

// frameID is a parsed SSE id "<runId>:<seq>" or "<runId>:<seq>:<part>" (docs/api.md).
type frameID struct {
	run  string
	seq  uint64
	part int // -1: the event's last (or only) frame
}

// parseFrameID parses an SSE id as Fleet writes it.
func parseFrameID(s string) (frameID, error) {
	run, pos, ok := strings.Cut(s, ":")
	if !ok || run == "" {
		return frameID{}, fmt.Errorf("id %q: want <runId>:<seq>[:<part>]", s)
	}
	seqText, partText, hasPart := strings.Cut(pos, ":")
	seq, err := strconv.ParseUint(seqText, 10, 64)
	if err != nil || seq == 0 {
		return frameID{}, fmt.Errorf("id %q: bad seq %q", s, seqText)
	}
	id := frameID{run: run, seq: seq, part: -1}
	if hasPart {
		p, err := strconv.Atoi(partText)
		if err != nil || p < 0 {
			return frameID{}, fmt.Errorf("id %q: bad part %q", s, partText)
		}
		id.part = p
	}
	return id, nil
}

// servingPrefix starts the line `fleet serve` prints once it listens.
const servingPrefix = "fleet: serving "

// parseServing returns the base URL of a "fleet: serving http://127.0.0.1:PORT" line; ok is
// false for any other line. Only loopback addresses are accepted.
func parseServing(line string) (base string, ok bool, err error) {
	rest, found := strings.CutPrefix(strings.TrimSpace(line), servingPrefix)
	if !found {
		return "", false, nil
	}
	u, err := url.Parse(strings.TrimSpace(rest))
	if err != nil {
		return "", true, fmt.Errorf("serving line %q: %w", line, err)
	}
	if u.Scheme != "http" || u.Port() == "" || u.Path != "" {
		return "", true, fmt.Errorf("serving line %q: want http://HOST:PORT", line)
	}
	if err := checkLoopback(u.Hostname()); err != nil {
		return "", true, fmt.Errorf("serving line %q: %w", line, err)
	}
	return u.Scheme + "://" + u.Host, true, nil
}

// errNotLoopback: the tool only talks to 127.0.0.1 (or ::1, localhost).
var errNotLoopback = errors.New("not a loopback address")

func checkLoopback(host string) error {
	switch host {
	case "127.0.0.1", "::1", "localhost":
		return nil
	}
	return fmt.Errorf("%q: %w", host, errNotLoopback)
}

// parseVmRSS returns VmRSS in bytes from the text of /proc/<pid>/status.
func parseVmRSS(status string) (int64, error) {
	for line := range strings.Lines(status) {
		rest, ok := strings.CutPrefix(line, "VmRSS:")
		if !ok {
			continue
		}
		f := strings.Fields(rest)
		if len(f) != 2 || f[1] != "kB" {
			return 0, fmt.Errorf("VmRSS line %q", strings.TrimSpace(line))
		}
		kb, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil {
			return 0, fmt.Errorf("VmRSS line %q: %w", strings.TrimSpace(line), err)
		}
		return kb << 10, nil
	}
	return 0, errors.New("no VmRSS line")
}

// clockTicks is USER_HZ, the unit of utime and stime in /proc/<pid>/stat: 100 on Linux.
const clockTicks = 100

// parseStatCPU returns utime+stime in seconds from the text of /proc/<pid>/stat.
func parseStatCPU(stat string) (float64, error) {
	// The command name (field 2) is in parentheses and may hold spaces: fields count after it.
	i := strings.LastIndexByte(stat, ')')
	if i < 0 {
		return 0, errors.New("stat: no ')'")
	}
	f := strings.Fields(stat[i+1:])
	// f[0] is field 3 (state); utime is field 14, stime field 15.
	if len(f) < 13 {
		return 0, fmt.Errorf("stat: %d fields after the name", len(f))
	}
	ut, err1 := strconv.ParseUint(f[11], 10, 64)
	st, err2 := strconv.ParseUint(f[12], 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		return 0, fmt.Errorf("stat: %w", err)
	}
	return float64(ut+st) / clockTicks, nil
}

// sayExactly is the offline model's rule that answers with the rest of the message verbatim.
const sayExactly = "say exactly:"

// expectedAnswer is the offline model's answer to msg when it is a "Say exactly:" request (one
// space after the colon dropped), and false otherwise.
func expectedAnswer(msg string) (string, bool) {
	if len(msg) < len(sayExactly) || !strings.EqualFold(msg[:len(sayExactly)], sayExactly) {
		return "", false
	}
	return strings.TrimPrefix(msg[len(sayExactly):], " "), true
}

// answerWords are short (at most 8 bytes: the offline model streams each as one piece).
var answerWords = strings.Fields(`the quick model streams every token to each client while the
server keeps its frames in order and a slow reader never holds back anyone else so we count how late
each piece lands`)

// longMessage is "Say exactly: " and n words: the offline model streams n pieces back.
func longMessage(n int) string {
	var b strings.Builder
	b.WriteString("Say exactly:")
	for i := range n {
		b.WriteByte(' ')
		b.WriteString(answerWords[i%len(answerWords)])
	}
	return b.String()
}

// parseMachineCPU returns the machine's busy CPU time (everything but idle and iowait) in
// seconds from the text of /proc/stat.
func parseMachineCPU(stat string) (float64, error) {
	for line := range strings.Lines(stat) {
		f := strings.Fields(line)
		if len(f) < 6 || f[0] != "cpu" {
			continue
		}
		var busy uint64
		for i, v := range f[1:] {
			n, err := strconv.ParseUint(v, 10, 64)
			if err != nil {
				return 0, fmt.Errorf("/proc/stat: %w", err)
			}
			// Fields 4 and 5 are idle and iowait; guest times (9, 10) are already in user.
			if i == 3 || i == 4 || i >= 8 {
				continue
			}
			busy += n
		}
		return float64(busy) / clockTicks, nil
	}
	return 0, errors.New("/proc/stat: no cpu line")
}
