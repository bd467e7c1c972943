// embed.wgsl — embedding lookup: rows of a quantized table, dequantized to f32 (composed with a
// formats/<type>.wgsl decoder).
//
// Computes Y[t][:] = dequant(table row IDS[t]) for the ids that fall in this chunk of the table
// (rows row0 .. row0 + rows); other ids are left to the other chunks' dispatches.
// Reference: quant::dequantize_row — equal bit for bit (tests/kernels.rs).
// Bindings:
//   W:   (rows · row_bytes / 4) u32   raw table rows of this chunk (declared in bytes.wgsl)
//   IDS: (n_ids) u32                  token ids
//   Y:   (n_ids, cols / 4) vec4<f32>
//   P:   Params
// Dispatch: (ceil(cols / 32 / WG), n_ids, 1), one thread per 32 elements, decoded by the format's
// dequant32 (so the kernel tests pin matmul_tiled's decoders to the CPU bit for bit here too);
// a row tail past the last multiple of 32 (f32/f16/bf16 only) by dequant4.

struct Params {
    cols: u32,
    row_bytes: u32,
    row0: u32,   // first table row in this chunk
    rows: u32,   // table rows in this chunk
}

// W (binding 0) is declared by formats/bytes.wgsl.
@group(0) @binding(1) var<storage, read> IDS: array<u32>;
@group(0) @binding(2) var<storage, read_write> Y: array<vec4<f32>>;
@group(0) @binding(3) var<uniform> P: Params;

override WG: u32 = 64u;

@compute @workgroup_size(WG)
fn embed(@builtin(global_invocation_id) gid: vec3<u32>) {
    let q = gid.x;
    let t = gid.y;
    let id = IDS[t];
    if (32u * q >= P.cols || id < P.row0 || id >= P.row0 + P.rows) {
        return;
    }
    let rb = (id - P.row0) * P.row_bytes;
    let y = t * (P.cols / 4u) + 8u * q;
    if (32u * q + 32u <= P.cols) {
        let v = dequant32(rb, 32u * q);
        for (var j = 0u; j < 8u; j = j + 1u) {
            Y[y + j] = v[j];
        }
    } else {
        for (var i = 32u * q; i < P.cols; i = i + 4u) {
            Y[y + (i % 32u) / 4u] = dequant4(rb, i);
        }
    }
}
