;; WebAssembly scoring kernel: dot products of the dense query with f16 forward-index documents
;; (u16 term ids, u16 half-float values), and block summary bounds. Scoring reads the query as
;; `dense64` (f64, scaled by 2^112: see Exactness); bounds read it as `dense` (f32). Source of
;; `kernel-wasm.generated.ts` (`npm run build:wasm`; a unit test fails while the two disagree).
;; Loaded by wasm-kernel.ts, which documents the memory layout.
;;
;; Why WebAssembly: candidate scoring is bound by memory latency (each candidate is a random
;; ~500-byte read in two arrays), and JavaScript can neither prefetch nor drop bounds checks. Here
;; a batch is first "prefetched by load" (independent loads of every cache line it will read, so
;; the misses overlap), then scored four documents in lockstep. Measured on the 1M synthetic index,
;; replaying the candidate batches of real searches: ~2× faster than the JavaScript lockstep
;; kernel (docs/PERFORMANCE.md).
;;
;; Every pointer is a byte address in the imported memory, which holds the whole segment file
;; (forward index sections included) followed by the scratch arrays (see wasm-kernel.ts).
;;
;; Exactness: each document is summed in its own f64 accumulator, in forward order, adding
;; f64(dense[t]) × f64(half(v)), where both factors are exact and so is their product (24 + 11
;; significant bits). That is the arithmetic of the JavaScript kernels, so scores are bit-identical.
;; The kernel computes the same product with a power of two moved between the factors: the query
;; arrives as f64(dense[t]) × 2^112 (`dense64`, written by wasm-kernel.ts with the f32 query), and
;; half(v) × 2^-112 is f32(bits(v) << 13) itself, so decoding a value is a shift and a reinterpret
;; (no multiply) and the query needs no promotion: two fewer operations per posting, ~15 % of a
;; cold document's cost (docs/PERFORMANCE.md). Both factors and the product stay exact (no f64
;; underflow: |q| ≥ 2^-149 and half(v) ≥ 2^-24), so the sums are the same bits. This holds for
;; normal and subnormal halves (the sign bit is never set: spladex rejects negative weights), and
;; exponent 31 decodes as the finite 2^16 × (1 + m/1024), as in dot.ts.
(module
  (import "env" "memory" (memory 1 65536))

  ;; Receives the folded bytes of the prefetching loads (see scoreBatch), so they cannot be dropped.
  (global $sink (mut i32) (i32.const 0))

  ;; Sum over postings [p, end) (term byte addresses; the value of the term at p is at p + delta).
  (func $range (param $dense64 i32) (param $p i32) (param $end i32) (param $delta i32) (param $sum f64) (result f64)
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $p) (local.get $end)))
        (local.set $sum
          (f64.add (local.get $sum)
            (f64.mul
              (f64.load (i32.add (local.get $dense64) (i32.shl (i32.load16_u (local.get $p)) (i32.const 3))))
              (f64.promote_f32 (f32.reinterpret_i32 (i32.shl (i32.load16_u (i32.add (local.get $p) (local.get $delta))) (i32.const 13)))))))
        (local.set $p (i32.add (local.get $p) (i32.const 2)))
        (br $next)))
    (local.get $sum))

  ;; Score of document `doc`: offsets is the u32 forward offsets array, terms/values the u16 arrays.
  (func (export "scoreOne") (param $dense64 i32) (param $offsets i32) (param $terms i32) (param $values i32) (param $doc i32) (result f64)
    (local $at i32)
    (local.set $at (i32.add (local.get $offsets) (i32.shl (local.get $doc) (i32.const 2))))
    (call $range
      (local.get $dense64)
      (i32.add (local.get $terms) (i32.shl (i32.load (local.get $at)) (i32.const 1)))
      (i32.add (local.get $terms) (i32.shl (i32.load offset=4 (local.get $at)) (i32.const 1)))
      (i32.sub (local.get $values) (local.get $terms))
      (f64.const 0)))

  ;; Scores the `n` documents listed (u32) at `docs` into the f64 array at `out`, four at a time in
  ;; lockstep: four lanes each hold a document and one loop body reads a posting of each, so their
  ;; cache misses overlap and the four sums are independent dependency chains. The lanes run
  ;; together for as many postings as the shortest has left; that lane then swaps into the last
  ;; place and retires, and the others go on three, then two together, the last one alone. (Lanes
  ;; refilled from the list as they finish measured ~2× slower: each refill puts a document's two
  ;; dependent misses, offsets then postings, on the critical path.) A remainder of one to three
  ;; documents is scored one at a time.
  (func (export "scoreBatch") (param $dense64 i32) (param $offsets i32) (param $terms i32) (param $values i32) (param $docs i32) (param $n i32) (param $out i32)
    (local $delta i32) (local $end i32) (local $common i32) (local $k i32) (local $at i32) (local $tp i32) (local $ts f64) (local $touch i32)
    (local $pa i32) (local $ea i32) (local $oa i32) (local $pb i32) (local $eb i32) (local $ob i32) (local $pc i32) (local $ec i32) (local $oc i32) (local $pd i32) (local $ed i32) (local $od i32)
    (local $sa f64) (local $sb f64) (local $sc f64) (local $sd f64)
    (local.set $delta (i32.sub (local.get $values) (local.get $terms)))
    ;; Prefetch by load (WebAssembly has no prefetch instruction): first every document's forward
    ;; range, into its output slot; then one load per cache line of every document's terms and values.
    ;; Both loops' loads are independent of each other, so the CPU overlaps as many misses as it can
    ;; track, and the scoring below finds the batch in cache. The loaded bytes are folded into $touch,
    ;; stored at the end so no load is dead code.
    (local.set $at (local.get $docs))
    (local.set $k (local.get $out))
    (local.set $end (i32.add (local.get $docs) (i32.shl (local.get $n) (i32.const 2))))
    (block $rangesDone
      (loop $ranges
        (br_if $rangesDone (i32.ge_u (local.get $at) (local.get $end)))
        (local.set $tp (i32.add (local.get $offsets) (i32.shl (i32.load (local.get $at)) (i32.const 2))))
        (i64.store (local.get $k) (i64.load (local.get $tp)))
        (local.set $at (i32.add (local.get $at) (i32.const 4)))
        (local.set $k (i32.add (local.get $k) (i32.const 8)))
        (br $ranges)))
    (local.set $k (local.get $out))
    (local.set $end (i32.add (local.get $out) (i32.shl (local.get $n) (i32.const 3))))
    (block $touchDone
      (loop $touchDocs
        (br_if $touchDone (i32.ge_u (local.get $k) (local.get $end)))
        (local.set $tp (i32.and (i32.add (local.get $terms) (i32.shl (i32.load (local.get $k)) (i32.const 1))) (i32.const -64)))
        (local.set $at (i32.add (local.get $terms) (i32.shl (i32.load offset=4 (local.get $k)) (i32.const 1))))
        (block $linesDone
          (loop $lines
            (br_if $linesDone (i32.ge_u (local.get $tp) (local.get $at)))
            (local.set $touch (i32.xor (local.get $touch) (i32.xor (i32.load8_u (local.get $tp)) (i32.load8_u (i32.add (local.get $tp) (local.get $delta))))))
            (local.set $tp (i32.add (local.get $tp) (i32.const 64)))
            (br $lines)))
        (local.set $k (i32.add (local.get $k) (i32.const 8)))
        (br $touchDocs)))
    ;; $end: address past the last full group of four in `docs`.
    (local.set $end (i32.add (local.get $docs) (i32.shl (i32.and (local.get $n) (i32.const -4)) (i32.const 2))))
    (block $groupsDone
      (loop $group
        (br_if $groupsDone (i32.ge_u (local.get $docs) (local.get $end)))
        (local.set $pa (i32.add (local.get $terms) (i32.shl (i32.load (local.get $out)) (i32.const 1))))
        (local.set $ea (i32.add (local.get $terms) (i32.shl (i32.load offset=4 (local.get $out)) (i32.const 1))))
        (local.set $sa (f64.const 0))
        (local.set $oa (local.get $out))
        (local.set $docs (i32.add (local.get $docs) (i32.const 4)))
        (local.set $out (i32.add (local.get $out) (i32.const 8)))
        (local.set $pb (i32.add (local.get $terms) (i32.shl (i32.load (local.get $out)) (i32.const 1))))
        (local.set $eb (i32.add (local.get $terms) (i32.shl (i32.load offset=4 (local.get $out)) (i32.const 1))))
        (local.set $sb (f64.const 0))
        (local.set $ob (local.get $out))
        (local.set $docs (i32.add (local.get $docs) (i32.const 4)))
        (local.set $out (i32.add (local.get $out) (i32.const 8)))
        (local.set $pc (i32.add (local.get $terms) (i32.shl (i32.load (local.get $out)) (i32.const 1))))
        (local.set $ec (i32.add (local.get $terms) (i32.shl (i32.load offset=4 (local.get $out)) (i32.const 1))))
        (local.set $sc (f64.const 0))
        (local.set $oc (local.get $out))
        (local.set $docs (i32.add (local.get $docs) (i32.const 4)))
        (local.set $out (i32.add (local.get $out) (i32.const 8)))
        (local.set $pd (i32.add (local.get $terms) (i32.shl (i32.load (local.get $out)) (i32.const 1))))
        (local.set $ed (i32.add (local.get $terms) (i32.shl (i32.load offset=4 (local.get $out)) (i32.const 1))))
        (local.set $sd (f64.const 0))
        (local.set $od (local.get $out))
        (local.set $docs (i32.add (local.get $docs) (i32.const 4)))
        (local.set $out (i32.add (local.get $out) (i32.const 8)))
        ;; 4 lanes: $common = postings (bytes) left in the shortest.
        (local.set $common (i32.sub (local.get $ea) (local.get $pa)))
        (if (i32.lt_u (i32.sub (local.get $eb) (local.get $pb)) (local.get $common)) (then (local.set $common (i32.sub (local.get $eb) (local.get $pb)))))
        (if (i32.lt_u (i32.sub (local.get $ec) (local.get $pc)) (local.get $common)) (then (local.set $common (i32.sub (local.get $ec) (local.get $pc)))))
        (if (i32.lt_u (i32.sub (local.get $ed) (local.get $pd)) (local.get $common)) (then (local.set $common (i32.sub (local.get $ed) (local.get $pd)))))
        (local.set $k (i32.const 0))
        (block $lockstep4Done
          (loop $lockstep4
            (br_if $lockstep4Done (i32.ge_u (local.get $k) (local.get $common)))
            (local.set $sa (f64.add (local.get $sa) (f64.mul
              (f64.load (i32.add (local.get $dense64) (i32.shl (i32.load16_u (local.get $pa)) (i32.const 3))))
              (f64.promote_f32 (f32.reinterpret_i32 (i32.shl (i32.load16_u (i32.add (local.get $pa) (local.get $delta))) (i32.const 13)))))))
            (local.set $sb (f64.add (local.get $sb) (f64.mul
              (f64.load (i32.add (local.get $dense64) (i32.shl (i32.load16_u (local.get $pb)) (i32.const 3))))
              (f64.promote_f32 (f32.reinterpret_i32 (i32.shl (i32.load16_u (i32.add (local.get $pb) (local.get $delta))) (i32.const 13)))))))
            (local.set $sc (f64.add (local.get $sc) (f64.mul
              (f64.load (i32.add (local.get $dense64) (i32.shl (i32.load16_u (local.get $pc)) (i32.const 3))))
              (f64.promote_f32 (f32.reinterpret_i32 (i32.shl (i32.load16_u (i32.add (local.get $pc) (local.get $delta))) (i32.const 13)))))))
            (local.set $sd (f64.add (local.get $sd) (f64.mul
              (f64.load (i32.add (local.get $dense64) (i32.shl (i32.load16_u (local.get $pd)) (i32.const 3))))
              (f64.promote_f32 (f32.reinterpret_i32 (i32.shl (i32.load16_u (i32.add (local.get $pd) (local.get $delta))) (i32.const 13)))))))
            (local.set $pa (i32.add (local.get $pa) (i32.const 2)))
            (local.set $pb (i32.add (local.get $pb) (i32.const 2)))
            (local.set $pc (i32.add (local.get $pc) (i32.const 2)))
            (local.set $pd (i32.add (local.get $pd) (i32.const 2)))
            (local.set $k (i32.add (local.get $k) (i32.const 2)))
            (br $lockstep4)))
        ;; A finished lane swaps into lane d, which stores its score and retires.
        (if (i32.eq (local.get $pa) (local.get $ea))
          (then
            (local.set $tp (local.get $pa)) (local.set $pa (local.get $pd)) (local.set $pd (local.get $tp))
            (local.set $tp (local.get $ea)) (local.set $ea (local.get $ed)) (local.set $ed (local.get $tp))
            (local.set $tp (local.get $oa)) (local.set $oa (local.get $od)) (local.set $od (local.get $tp))
            (local.set $ts (local.get $sa)) (local.set $sa (local.get $sd)) (local.set $sd (local.get $ts)))
          (else
            (if (i32.eq (local.get $pb) (local.get $eb))
              (then
                (local.set $tp (local.get $pb)) (local.set $pb (local.get $pd)) (local.set $pd (local.get $tp))
                (local.set $tp (local.get $eb)) (local.set $eb (local.get $ed)) (local.set $ed (local.get $tp))
                (local.set $tp (local.get $ob)) (local.set $ob (local.get $od)) (local.set $od (local.get $tp))
                (local.set $ts (local.get $sb)) (local.set $sb (local.get $sd)) (local.set $sd (local.get $ts)))
              (else
                (if (i32.eq (local.get $pc) (local.get $ec))
                  (then
                    (local.set $tp (local.get $pc)) (local.set $pc (local.get $pd)) (local.set $pd (local.get $tp))
                    (local.set $tp (local.get $ec)) (local.set $ec (local.get $ed)) (local.set $ed (local.get $tp))
                    (local.set $tp (local.get $oc)) (local.set $oc (local.get $od)) (local.set $od (local.get $tp))
                    (local.set $ts (local.get $sc)) (local.set $sc (local.get $sd)) (local.set $sd (local.get $ts))))))))
        (f64.store (local.get $od) (local.get $sd))
        ;; 3 lanes: $common = postings (bytes) left in the shortest.
        (local.set $common (i32.sub (local.get $ea) (local.get $pa)))
        (if (i32.lt_u (i32.sub (local.get $eb) (local.get $pb)) (local.get $common)) (then (local.set $common (i32.sub (local.get $eb) (local.get $pb)))))
        (if (i32.lt_u (i32.sub (local.get $ec) (local.get $pc)) (local.get $common)) (then (local.set $common (i32.sub (local.get $ec) (local.get $pc)))))
        (local.set $k (i32.const 0))
        (block $lockstep3Done
          (loop $lockstep3
            (br_if $lockstep3Done (i32.ge_u (local.get $k) (local.get $common)))
            (local.set $sa (f64.add (local.get $sa) (f64.mul
              (f64.load (i32.add (local.get $dense64) (i32.shl (i32.load16_u (local.get $pa)) (i32.const 3))))
              (f64.promote_f32 (f32.reinterpret_i32 (i32.shl (i32.load16_u (i32.add (local.get $pa) (local.get $delta))) (i32.const 13)))))))
            (local.set $sb (f64.add (local.get $sb) (f64.mul
              (f64.load (i32.add (local.get $dense64) (i32.shl (i32.load16_u (local.get $pb)) (i32.const 3))))
              (f64.promote_f32 (f32.reinterpret_i32 (i32.shl (i32.load16_u (i32.add (local.get $pb) (local.get $delta))) (i32.const 13)))))))
            (local.set $sc (f64.add (local.get $sc) (f64.mul
              (f64.load (i32.add (local.get $dense64) (i32.shl (i32.load16_u (local.get $pc)) (i32.const 3))))
              (f64.promote_f32 (f32.reinterpret_i32 (i32.shl (i32.load16_u (i32.add (local.get $pc) (local.get $delta))) (i32.const 13)))))))
            (local.set $pa (i32.add (local.get $pa) (i32.const 2)))
            (local.set $pb (i32.add (local.get $pb) (i32.const 2)))
            (local.set $pc (i32.add (local.get $pc) (i32.const 2)))
            (local.set $k (i32.add (local.get $k) (i32.const 2)))
            (br $lockstep3)))
        ;; A finished lane swaps into lane c, which stores its score and retires.
        (if (i32.eq (local.get $pa) (local.get $ea))
          (then
            (local.set $tp (local.get $pa)) (local.set $pa (local.get $pc)) (local.set $pc (local.get $tp))
            (local.set $tp (local.get $ea)) (local.set $ea (local.get $ec)) (local.set $ec (local.get $tp))
            (local.set $tp (local.get $oa)) (local.set $oa (local.get $oc)) (local.set $oc (local.get $tp))
            (local.set $ts (local.get $sa)) (local.set $sa (local.get $sc)) (local.set $sc (local.get $ts)))
          (else
            (if (i32.eq (local.get $pb) (local.get $eb))
              (then
                (local.set $tp (local.get $pb)) (local.set $pb (local.get $pc)) (local.set $pc (local.get $tp))
                (local.set $tp (local.get $eb)) (local.set $eb (local.get $ec)) (local.set $ec (local.get $tp))
                (local.set $tp (local.get $ob)) (local.set $ob (local.get $oc)) (local.set $oc (local.get $tp))
                (local.set $ts (local.get $sb)) (local.set $sb (local.get $sc)) (local.set $sc (local.get $ts))))))
        (f64.store (local.get $oc) (local.get $sc))
        ;; 2 lanes: $common = postings (bytes) left in the shortest.
        (local.set $common (i32.sub (local.get $ea) (local.get $pa)))
        (if (i32.lt_u (i32.sub (local.get $eb) (local.get $pb)) (local.get $common)) (then (local.set $common (i32.sub (local.get $eb) (local.get $pb)))))
        (local.set $k (i32.const 0))
        (block $lockstep2Done
          (loop $lockstep2
            (br_if $lockstep2Done (i32.ge_u (local.get $k) (local.get $common)))
            (local.set $sa (f64.add (local.get $sa) (f64.mul
              (f64.load (i32.add (local.get $dense64) (i32.shl (i32.load16_u (local.get $pa)) (i32.const 3))))
              (f64.promote_f32 (f32.reinterpret_i32 (i32.shl (i32.load16_u (i32.add (local.get $pa) (local.get $delta))) (i32.const 13)))))))
            (local.set $sb (f64.add (local.get $sb) (f64.mul
              (f64.load (i32.add (local.get $dense64) (i32.shl (i32.load16_u (local.get $pb)) (i32.const 3))))
              (f64.promote_f32 (f32.reinterpret_i32 (i32.shl (i32.load16_u (i32.add (local.get $pb) (local.get $delta))) (i32.const 13)))))))
            (local.set $pa (i32.add (local.get $pa) (i32.const 2)))
            (local.set $pb (i32.add (local.get $pb) (i32.const 2)))
            (local.set $k (i32.add (local.get $k) (i32.const 2)))
            (br $lockstep2)))
        ;; A finished lane swaps into lane b, which stores its score and retires.
        (if (i32.eq (local.get $pa) (local.get $ea))
          (then
            (local.set $tp (local.get $pa)) (local.set $pa (local.get $pb)) (local.set $pb (local.get $tp))
            (local.set $tp (local.get $ea)) (local.set $ea (local.get $eb)) (local.set $eb (local.get $tp))
            (local.set $tp (local.get $oa)) (local.set $oa (local.get $ob)) (local.set $ob (local.get $tp))
            (local.set $ts (local.get $sa)) (local.set $sa (local.get $sb)) (local.set $sb (local.get $ts))))
        (f64.store (local.get $ob) (local.get $sb))
        (f64.store (local.get $oa) (call $range (local.get $dense64) (local.get $pa) (local.get $ea) (local.get $delta) (local.get $sa)))
        (br $group)))
    ;; The remainder, one document at a time.
    (local.set $end (i32.add (local.get $end) (i32.shl (i32.and (local.get $n) (i32.const 3)) (i32.const 2))))
    (block $restDone
      (loop $rest
        (br_if $restDone (i32.ge_u (local.get $docs) (local.get $end)))
        (local.set $at (i32.add (local.get $offsets) (i32.shl (i32.load (local.get $docs)) (i32.const 2))))
        (f64.store (local.get $out)
          (call $range
            (local.get $dense64)
            (i32.add (local.get $terms) (i32.shl (i32.load (local.get $at)) (i32.const 1)))
            (i32.add (local.get $terms) (i32.shl (i32.load offset=4 (local.get $at)) (i32.const 1)))
            (local.get $delta)
            (f64.const 0)))
        (local.set $docs (i32.add (local.get $docs) (i32.const 4)))
        (local.set $out (i32.add (local.get $out) (i32.const 8)))
        (br $rest)))
    (global.set $sink (local.get $touch)))

  ;; Summary bounds of the `n` blocks from `first`: for each, the f64 sum over its summary of
  ;; f64(dense[term]) × code, then times f64(scale[block]), into the f64 array at `out`: the
  ;; arithmetic and order of the JavaScript bound, so pruning decisions are identical.
  ;; sumOffsets: u32 per block + 1; sumTerms: u16; sumCodes: u8; scales: f32.
  (func (export "boundBlocks") (param $dense i32) (param $sumOffsets i32) (param $sumTerms i32) (param $sumCodes i32) (param $scales i32) (param $first i32) (param $n i32) (param $out i32)
    (local $block i32) (local $end i32) (local $e i32) (local $eEnd i32) (local $sum f64)
    (local.set $block (local.get $first))
    (local.set $end (i32.add (local.get $first) (local.get $n)))
    (block $blocksDone
      (loop $blocks
        (br_if $blocksDone (i32.ge_u (local.get $block) (local.get $end)))
        (local.set $e (i32.load (i32.add (local.get $sumOffsets) (i32.shl (local.get $block) (i32.const 2)))))
        (local.set $eEnd (i32.load offset=4 (i32.add (local.get $sumOffsets) (i32.shl (local.get $block) (i32.const 2)))))
        (local.set $sum (f64.const 0))
        (block $termsDone
          (loop $terms
            (br_if $termsDone (i32.ge_u (local.get $e) (local.get $eEnd)))
            (local.set $sum
              (f64.add (local.get $sum)
                (f64.mul
                  (f64.promote_f32 (f32.load (i32.add (local.get $dense) (i32.shl (i32.load16_u (i32.add (local.get $sumTerms) (i32.shl (local.get $e) (i32.const 1)))) (i32.const 2)))))
                  (f64.convert_i32_u (i32.load8_u (i32.add (local.get $sumCodes) (local.get $e)))))))
            (local.set $e (i32.add (local.get $e) (i32.const 1)))
            (br $terms)))
        (f64.store (local.get $out)
          (f64.mul (local.get $sum) (f64.promote_f32 (f32.load (i32.add (local.get $scales) (i32.shl (local.get $block) (i32.const 2)))))))
        (local.set $out (i32.add (local.get $out) (i32.const 8)))
        (local.set $block (i32.add (local.get $block) (i32.const 1)))
        (br $blocks))))
)
