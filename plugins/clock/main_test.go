package main

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/agentfleet/fleet/sdk"
)

func TestConvertTime(t *testing.T) {
	tests := []struct {
		args string
		want string
	}{
		{`{"time":"2024-03-10T12:00:00Z","to":"America/New_York"}`,
			`{"time":"2024-03-10T08:00:00-04:00","timezone":"America/New_York","unix":1710072000,"weekday":"Sunday"}`},
		{`{"time":"2024-03-09T12:00:00Z","to":"America/New_York"}`,
			`{"time":"2024-03-09T07:00:00-05:00","timezone":"America/New_York","unix":1709985600,"weekday":"Saturday"}`},
		{`{"time":"2024-05-01T16:30:00+02:00","to":"Asia/Tokyo"}`,
			`{"time":"2024-05-01T23:30:00+09:00","timezone":"Asia/Tokyo","unix":1714573800,"weekday":"Wednesday"}`},
		{`{"time":" 2024-12-31T23:59:59.5-01:00 ","to":"UTC"}`,
			`{"time":"2025-01-01T00:59:59Z","timezone":"UTC","unix":1735693199,"weekday":"Wednesday"}`},
		{`{"time":"2024-06-01T00:00:00Z","to":"Asia/Kolkata"}`,
			`{"time":"2024-06-01T05:30:00+05:30","timezone":"Asia/Kolkata","unix":1717200000,"weekday":"Saturday"}`},
	}
	for _, tt := range tests {
		t.Run(tt.args, func(t *testing.T) {
			out, err := sdk.Invoke(context.Background(), "convert_time", []byte(tt.args))
			if err != nil || string(out) != tt.want {
				t.Errorf("convert_time(%s) = %s, %v\nwant %s", tt.args, out, err, tt.want)
			}
		})
	}
}

func TestErrors(t *testing.T) {
	tests := []struct {
		tool, args, code string
	}{
		{"convert_time", `{"time":"yesterday","to":"UTC"}`, "bad_time"},
		{"convert_time", `{"time":"2024-03-10 12:00","to":"UTC"}`, "bad_time"},
		{"convert_time", `{"time":"2024-03-10T12:00:00Z","to":"Mars/Olympus"}`, "unknown_timezone"},
		{"now", `{"timezone":"Local"}`, "unknown_timezone"},
		{"now", `{"timezone":"../../etc/passwd"}`, "unknown_timezone"},
		{"now", `{"timezone":"Europe/Paris/../../x"}`, "unknown_timezone"},
		{"now", `{"timezone":"` + strings.Repeat("A", 100) + `"}`, "unknown_timezone"},
		{"now", `{"zone":"UTC"}`, "invalid_arguments"},
	}
	for _, tt := range tests {
		t.Run(tt.args, func(t *testing.T) {
			_, err := sdk.Invoke(context.Background(), tt.tool, []byte(tt.args))
			var te *sdk.ToolError
			if !errors.As(err, &te) || te.Code != tt.code {
				t.Errorf("%s(%s): err = %v, want code %s", tt.tool, tt.args, err, tt.code)
			}
		})
	}
}

func TestNow(t *testing.T) {
	tests := []struct {
		args, zone string
	}{
		{`{}`, "UTC"},
		{`{"timezone":""}`, "UTC"},
		{`{"timezone":"Europe/Paris"}`, "Europe/Paris"},
		{`{"timezone":"Australia/Lord_Howe"}`, "Australia/Lord_Howe"},
	}
	for _, tt := range tests {
		t.Run(tt.args, func(t *testing.T) {
			before := time.Now().Truncate(time.Second)
			out, err := sdk.Invoke(context.Background(), "now", []byte(tt.args))
			after := time.Now()
			if err != nil {
				t.Fatal(err)
			}
			var r timeResult
			if err := json.Unmarshal(out, &r); err != nil {
				t.Fatal(err)
			}
			got, err := time.Parse(time.RFC3339, r.Time)
			loc, _ := time.LoadLocation(tt.zone)
			_, wantOffset := got.In(loc).Zone()
			_, gotOffset := got.Zone()
			if err != nil || got.Before(before) || got.After(after) || got.Unix() != r.Unix || gotOffset != wantOffset ||
				r.Timezone != tt.zone || r.Weekday != got.In(loc).Weekday().String() || r.RealClock == nil || !*r.RealClock || r.Note != "" {
				t.Errorf("now(%s) = %s (parse error %v); want a time in %s between %v and %v", tt.args, out, err, tt.zone, before, after)
			}
		})
	}
}

func TestNowWithoutClockCapability(t *testing.T) {
	defer sdk.SetLocalHost(sdk.LocalHost{Grants: []sdk.Capability{}})()
	out, err := sdk.Invoke(context.Background(), "now", nil)
	var r timeResult
	if err != nil || json.Unmarshal(out, &r) != nil || r.RealClock == nil || *r.RealClock || r.Note != sandboxNote {
		t.Errorf("now without clock = %s, %v; want real_clock false and the note", out, err)
	}
}
