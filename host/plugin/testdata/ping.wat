;; The complete tool plugin of docs/abi.md section 10: one tool, ping, answering {"ok":true}.
;; Rebuild ping.wasm with `wat2wasm ping.wat -o ping.wasm` (apt-get install -y wabt).
(module
  (memory (export "memory") 1)
  (global $bump (mut i32) (i32.const 1024))
  (data (i32.const 16) "\00{\"abi_minor\":0,\"name\":\"ping\",\"version\":\"1.0.0\",\"kind\":\"tool\",\"tools\":[{\"name\":\"ping\",\"description\":\"Answers ok.\"}]}")
  (data (i32.const 512) "\00{\"ok\":true}")
  (func (export "fleet_abi_v1"))
  (func (export "fleet_alloc") (param $n i32) (result i32)
    (local $p i32)
    (local.set $p (global.get $bump))
    (global.set $bump (i32.add (global.get $bump) (local.get $n)))
    (local.get $p))
  (func (export "fleet_init") (param i32 i32) (result i64)
    (global.set $bump (i32.const 1024))
    (i64.or (i64.shl (i64.const 16) (i64.const 32)) (i64.const 116)))
  (func (export "fleet_call") (param i32 i32 i32) (result i64)
    (global.set $bump (i32.const 1024))
    (i64.or (i64.shl (i64.const 512) (i64.const 32)) (i64.const 12))))
