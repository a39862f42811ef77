;; The strict line check's record scan (local/strict-lines-wasm.ts runs it): the same rules as countRecords in
;; local/strict-lines.ts, written twice; test/local/strict-lines-wasm.test.ts keeps their answers equal. count() gives
;; the records in [start, end) (end just after a LF), every one vouched for, or -1; kinds[k] is field k's KIND_CODES.
;; Every loop stops at that LF, so no byte past `end` decides anything (the boolean compare reads up to 4 past it).
(module
  (memory (export "memory") 1)
  ;; Days in each month (1-12) at bytes 1-12; the caller's bytes start at or after "free".
  (data (i32.const 0) "\00\1f\1d\1f\1e\1f\1e\1f\1f\1e\1f\1e\1f")
  (global (export "free") i32 (i32.const 512))
  ;; Bytes 256-511: 1 for a byte that plain text may hold (anything but ',', '"' and control bytes other than TAB).
  (func $textBytes (local $b i32)
    (loop $each
      (i32.store8 offset=256 (local.get $b) (i32.eqz (i32.or
        (i32.or (i32.eq (local.get $b) (i32.const 44)) (i32.eq (local.get $b) (i32.const 34)))
        (i32.and (i32.lt_u (local.get $b) (i32.const 32)) (i32.ne (local.get $b) (i32.const 9))))))
      (local.set $b (i32.add (local.get $b) (i32.const 1)))
      (br_if $each (i32.lt_u (local.get $b) (i32.const 256)))))
  (start $textBytes)
  (func (export "count") (param $kinds i32) (param $start i32) (param $end i32) (param $last i32) (param $crlf i32) (result i32)
    (local $p i32) (local $b i32) (local $k i32) (local $records i32) (local $lineStart i32)
    (local $month i32) (local $day i32) (local $year i32) (local $yearDigitsLeft i32) (local $d i32) (local $digitsStart i32)
    (local.set $p (local.get $start))
    (block $fail
      (loop $line
        (if (i32.ge_u (local.get $p) (local.get $end)) (then (return (local.get $records))))
        (local.set $lineStart (local.get $p))
        (local.set $b (i32.load8_u (local.get $p)))
        (br_if $fail (i32.or
          (i32.or (i32.eq (local.get $b) (i32.const 10)) (i32.eq (local.get $b) (i32.const 13)))
          (i32.or (i32.eq (local.get $b) (i32.const 32)) (i32.eq (local.get $b) (i32.const 9)))))
        (local.set $k (i32.const 0))
        (loop $field
          (local.set $b (i32.load8_u (local.get $p)))
          (block $done
;; One block per kind: each kind's code follows its block's end (so it is indented less than the one before).
            (block $bool (block $double (block $bigint (block $date (block $text
              (br_table $text $date $bigint $double $bool (i32.load8_u (i32.add (local.get $kinds) (local.get $k)))))
              ;; text: plain, or quoted with "" inside
              (if (i32.eq (local.get $b) (i32.const 34))
                (then
                  (loop $quoted
                    (local.set $p (i32.add (local.get $p) (i32.const 1)))
                    (local.set $b (i32.load8_u (local.get $p)))
                    (if (i32.eq (local.get $b) (i32.const 34))
                      (then
                        (if (i32.eq (i32.load8_u offset=1 (local.get $p)) (i32.const 34))
                          (then (local.set $p (i32.add (local.get $p) (i32.const 1))) (br $quoted))))
                      (else
                        (br_if $fail (i32.or (i32.ge_u (local.get $p) (local.get $end))
                          (i32.or (i32.eq (local.get $b) (i32.const 10)) (i32.eq (local.get $b) (i32.const 13)))))
                        (br $quoted))))
                  (local.set $p (i32.add (local.get $p) (i32.const 1)))
                  (local.set $b (i32.load8_u (local.get $p))))
                (else
                  (block $plainEnd (loop $plain
                    (br_if $plainEnd (i32.eqz (i32.load8_u offset=256 (local.get $b))))
                    (local.set $p (i32.add (local.get $p) (i32.const 1)))
                    (local.set $b (i32.load8_u (local.get $p)))
                    (br $plain)))))
              (br $done))
            ;; date: M/D/YYYY
            (local.set $month (i32.sub (local.get $b) (i32.const 48)))
            (br_if $fail (i32.gt_u (local.get $month) (i32.const 9)))
            (local.set $p (i32.add (local.get $p) (i32.const 1)))
            (local.set $b (i32.load8_u (local.get $p)))
            (if (i32.ne (local.get $b) (i32.const 47)) (then
              (local.set $d (i32.sub (local.get $b) (i32.const 48)))
              (br_if $fail (i32.gt_u (local.get $d) (i32.const 9)))
              (local.set $month (i32.add (i32.mul (local.get $month) (i32.const 10)) (local.get $d)))
              (local.set $p (i32.add (local.get $p) (i32.const 1)))
              (br_if $fail (i32.ne (i32.load8_u (local.get $p)) (i32.const 47)))))
            (local.set $p (i32.add (local.get $p) (i32.const 1)))
            (local.set $day (i32.sub (i32.load8_u (local.get $p)) (i32.const 48)))
            (br_if $fail (i32.gt_u (local.get $day) (i32.const 9)))
            (local.set $p (i32.add (local.get $p) (i32.const 1)))
            (local.set $b (i32.load8_u (local.get $p)))
            (if (i32.ne (local.get $b) (i32.const 47)) (then
              (local.set $d (i32.sub (local.get $b) (i32.const 48)))
              (br_if $fail (i32.gt_u (local.get $d) (i32.const 9)))
              (local.set $day (i32.add (i32.mul (local.get $day) (i32.const 10)) (local.get $d)))
              (local.set $p (i32.add (local.get $p) (i32.const 1)))
              (br_if $fail (i32.ne (i32.load8_u (local.get $p)) (i32.const 47)))))
            (local.set $year (i32.const 0))
            (local.set $yearDigitsLeft (i32.const 4))
            (loop $y
              (local.set $p (i32.add (local.get $p) (i32.const 1)))
              (local.set $d (i32.sub (i32.load8_u (local.get $p)) (i32.const 48)))
              (br_if $fail (i32.gt_u (local.get $d) (i32.const 9)))
              (local.set $year (i32.add (i32.mul (local.get $year) (i32.const 10)) (local.get $d)))
              (local.set $yearDigitsLeft (i32.sub (local.get $yearDigitsLeft) (i32.const 1)))
              (br_if $y (local.get $yearDigitsLeft)))
            (local.set $p (i32.add (local.get $p) (i32.const 1)))
            (local.set $b (i32.load8_u (local.get $p)))
            ;; month 1-12, day 1..days[month], year >= 1000, Feb 29 only in leap years
            (br_if $fail (i32.gt_u (i32.sub (local.get $month) (i32.const 1)) (i32.const 11)))
            (br_if $fail (i32.eqz (local.get $day)))
            (br_if $fail (i32.gt_u (local.get $day) (i32.load8_u (local.get $month))))
            (br_if $fail (i32.lt_u (local.get $year) (i32.const 1000)))
            (if (i32.and (i32.eq (local.get $month) (i32.const 2)) (i32.eq (local.get $day) (i32.const 29)))
              (then
                (br_if $fail (i32.eqz (i32.and
                  (i32.eqz (i32.rem_u (local.get $year) (i32.const 4)))
                  (i32.or (i32.ne (i32.rem_u (local.get $year) (i32.const 100)) (i32.const 0))
                          (i32.eqz (i32.rem_u (local.get $year) (i32.const 400)))))))))
            (br $done))
          ;; bigint: -?[0-9]+, at most 18 digits
          (if (i32.eq (local.get $b) (i32.const 45)) (then
            (local.set $p (i32.add (local.get $p) (i32.const 1)))
            (local.set $b (i32.load8_u (local.get $p)))))
          (local.set $digitsStart (local.get $p))
          (block $e (loop $l
            (br_if $e (i32.gt_u (i32.sub (local.get $b) (i32.const 48)) (i32.const 9)))
            (local.set $p (i32.add (local.get $p) (i32.const 1)))
            (local.set $b (i32.load8_u (local.get $p)))
            (br $l)))
          (br_if $fail (i32.gt_u (i32.sub (i32.sub (local.get $p) (local.get $digitsStart)) (i32.const 1)) (i32.const 17)))
          (br $done))
        ;; double: -?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?, at most 15 integer digits and a 2-digit exponent
        (if (i32.eq (local.get $b) (i32.const 45)) (then
          (local.set $p (i32.add (local.get $p) (i32.const 1)))
          (local.set $b (i32.load8_u (local.get $p)))))
        (local.set $digitsStart (local.get $p))
        (block $e (loop $l
          (br_if $e (i32.gt_u (i32.sub (local.get $b) (i32.const 48)) (i32.const 9)))
          (local.set $p (i32.add (local.get $p) (i32.const 1)))
          (local.set $b (i32.load8_u (local.get $p)))
          (br $l)))
        (br_if $fail (i32.gt_u (i32.sub (i32.sub (local.get $p) (local.get $digitsStart)) (i32.const 1)) (i32.const 14)))
        (if (i32.eq (local.get $b) (i32.const 46)) (then
          (local.set $p (i32.add (local.get $p) (i32.const 1)))
          (local.set $b (i32.load8_u (local.get $p)))
          (local.set $digitsStart (local.get $p))
          (block $e (loop $l
            (br_if $e (i32.gt_u (i32.sub (local.get $b) (i32.const 48)) (i32.const 9)))
            (local.set $p (i32.add (local.get $p) (i32.const 1)))
            (local.set $b (i32.load8_u (local.get $p)))
            (br $l)))
          (br_if $fail (i32.eq (local.get $p) (local.get $digitsStart)))))
        (if (i32.eq (i32.or (local.get $b) (i32.const 32)) (i32.const 101)) (then
          (local.set $p (i32.add (local.get $p) (i32.const 1)))
          (local.set $b (i32.load8_u (local.get $p)))
          (if (i32.or (i32.eq (local.get $b) (i32.const 43)) (i32.eq (local.get $b) (i32.const 45))) (then
            (local.set $p (i32.add (local.get $p) (i32.const 1)))
            (local.set $b (i32.load8_u (local.get $p)))))
          (local.set $digitsStart (local.get $p))
          (block $e (loop $l
            (br_if $e (i32.gt_u (i32.sub (local.get $b) (i32.const 48)) (i32.const 9)))
            (local.set $p (i32.add (local.get $p) (i32.const 1)))
            (local.set $b (i32.load8_u (local.get $p)))
            (br $l)))
          (br_if $fail (i32.gt_u (i32.sub (i32.sub (local.get $p) (local.get $digitsStart)) (i32.const 1)) (i32.const 1)))))
        (br $done))
      ;; boolean: TRUE or FALSE in any case
      (if (i32.eq (i32.or (i32.load (local.get $p)) (i32.const 0x20202020)) (i32.const 0x65757274))
        (then (local.set $p (i32.add (local.get $p) (i32.const 4))))
        (else
          (br_if $fail (i32.or
            (i32.ne (i32.or (i32.load (local.get $p)) (i32.const 0x20202020)) (i32.const 0x736c6166))
            (i32.ne (i32.or (i32.load8_u offset=4 (local.get $p)) (i32.const 0x20)) (i32.const 0x65))))
          (local.set $p (i32.add (local.get $p) (i32.const 5)))))
      (local.set $b (i32.load8_u (local.get $p))))
          ;; after a field: ',' before the next, the line end after the last
          (if (i32.lt_u (local.get $k) (local.get $last))
            (then
              (br_if $fail (i32.ne (local.get $b) (i32.const 44)))
              (local.set $p (i32.add (local.get $p) (i32.const 1)))
              (local.set $k (i32.add (local.get $k) (i32.const 1)))
              (br $field)))
          (if (local.get $crlf) (then
            (br_if $fail (i32.ne (local.get $b) (i32.const 13)))
            (local.set $p (i32.add (local.get $p) (i32.const 1)))
            (local.set $b (i32.load8_u (local.get $p)))))
          (br_if $fail (i32.ne (local.get $b) (i32.const 10)))
          (local.set $p (i32.add (local.get $p) (i32.const 1))))
        (br_if $fail (i32.gt_u (i32.sub (local.get $p) (local.get $lineStart)) (i32.const 1048576)))
        (local.set $records (i32.add (local.get $records) (i32.const 1)))
        (br $line)))
    (i32.const -1))
)
