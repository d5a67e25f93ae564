module github.com/agentfleet/fleet/plugins

go 1.26.0

require (
	github.com/agentfleet/fleet v0.0.0-00010101000000-000000000000
	github.com/agentfleet/fleet/sdk v0.0.0
	github.com/tetratelabs/wazero v1.12.0
	github.com/tidwall/gjson v1.20.4
	github.com/tidwall/sjson v1.2.10
	go.uber.org/goleak v1.3.0
	golang.org/x/net v0.59.0
)

require (
	github.com/goccy/go-yaml v1.19.2 // indirect
	github.com/santhosh-tekuri/jsonschema/v6 v6.0.3 // indirect
	github.com/tidwall/match v1.1.1 // indirect
	github.com/tidwall/pretty v1.3.0 // indirect
	golang.org/x/sys v0.49.0 // indirect
	golang.org/x/text v0.42.0 // indirect
)

replace github.com/agentfleet/fleet/sdk => ../sdk

replace github.com/agentfleet/fleet => ../
