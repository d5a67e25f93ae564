// Command clock is the first-party Fleet plugin "clock": the current time in any IANA time zone
// ("now") and conversion between zones ("convert_time"). The zone database is embedded
// (time/tzdata), so it needs no filesystem.
//
// It asks for the "clock" capability. Without it the sandbox's wall clock is fixed at
// 2020-01-01T00:00:00Z: "now" still answers, with real_clock false and a note saying so.
// Build: GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o clock.wasm .
package main

import (
	"context"
	"strings"
	"time"
	_ "time/tzdata" // the zone database, embedded: a plugin has no filesystem

	"github.com/agentfleet/fleet/sdk"
)

// maxZoneLen bounds a time zone name (the longest IANA name is about 30 characters).
const maxZoneLen = 64

// sandboxNote is sent when the clock capability is not granted.
const sandboxNote = "the clock capability is not granted to this plugin: this is the sandbox's fixed time, not the real time"

type nowArgs struct {
	Timezone string `json:"timezone,omitempty" desc:"IANA time zone name such as Europe/Paris or America/New_York; default UTC."`
}

type convertArgs struct {
	Time string `json:"time" desc:"The time to convert, in RFC 3339 form such as 2024-05-01T14:30:00Z or 2024-05-01T16:30:00+02:00."`
	To   string `json:"to" desc:"IANA time zone name to convert to, such as Asia/Tokyo."`
}

// timeResult describes one instant in one zone.
type timeResult struct {
	Time      string `json:"time"`
	Timezone  string `json:"timezone"`
	Unix      int64  `json:"unix"`
	Weekday   string `json:"weekday"`
	RealClock *bool  `json:"real_clock,omitempty"`
	Note      string `json:"note,omitempty"`
}

func describe(t time.Time, zone string) timeResult {
	return timeResult{Time: t.Format(time.RFC3339), Timezone: zone, Unix: t.Unix(), Weekday: t.Weekday().String()}
}

// loadZone resolves an IANA zone name; empty means UTC. "Local" is refused: a plugin has no local zone.
func loadZone(name string) (*time.Location, string, error) {
	name = strings.TrimSpace(name)
	if name == "" {
		return time.UTC, "UTC", nil
	}
	if len(name) > maxZoneLen || strings.EqualFold(name, "local") {
		return nil, "", sdk.Errorf("unknown_timezone", "unknown time zone %.64q: use an IANA name such as Europe/Paris or UTC", name)
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, "", sdk.Errorf("unknown_timezone", "unknown time zone %q: use an IANA name such as Europe/Paris or UTC", name)
	}
	return loc, loc.String(), nil
}

func now(_ context.Context, a nowArgs) (timeResult, error) {
	loc, zone, err := loadZone(a.Timezone)
	if err != nil {
		return timeResult{}, err
	}
	r := describe(time.Now().In(loc), zone)
	real := sdk.Granted(sdk.CapClock)
	r.RealClock = &real
	if !real {
		r.Note = sandboxNote
	}
	return r, nil
}

func convertTime(_ context.Context, a convertArgs) (timeResult, error) {
	t, err := time.Parse(time.RFC3339, strings.TrimSpace(a.Time))
	if err != nil {
		return timeResult{}, sdk.Errorf("bad_time", "time %.64q is not in RFC 3339 form such as 2024-05-01T14:30:00Z", a.Time)
	}
	loc, zone, err := loadZone(a.To)
	if err != nil {
		return timeResult{}, err
	}
	return describe(t.In(loc), zone), nil
}

func init() {
	sdk.Register(sdk.Plugin{
		Name:         "clock",
		Version:      "1.0.0",
		Description:  "Current time in any time zone, and time zone conversion.",
		Capabilities: []sdk.Capability{sdk.CapClock},
		Tools: []sdk.Tool{
			sdk.NewTool("now", "Get the current date and time in a time zone (default UTC).", now),
			sdk.NewTool("convert_time", "Convert an RFC 3339 time to another time zone.", convertTime),
		},
	})
}

func main() {}
