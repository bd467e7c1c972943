//! Every WGSL module the backend can build (each op, each op × weight format) parses and validates
//! with naga, and translates to SPIR-V (Vulkan) and MSL (the `metal` feature's backend) — so a
//! shader error fails `cargo test` on Linux, without a GPU and without a Mac.

use naga::back::{msl, spv};
use naga::valid::{Capabilities, ValidationFlags, Validator};

#[test]
fn every_shader_validates_and_translates_to_spirv_and_msl() {
    let modules = gpu::shaders::all_modules();
    // 12 plain ops (add.wgsl counts twice: add and div) + 8 weight ops × 13 formats + matvec_rows
    // at two other shapes
    assert_eq!(modules.len(), 12 + 8 * 13 + 2);
    let mut failures = Vec::new();
    for (label, src) in &modules {
        if let Err(e) = check(label, src) {
            failures.push(format!("{label}: {e}"));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} modules failed:\n{}",
        failures.len(),
        modules.len(),
        failures.join("\n\n")
    );
}

fn check(label: &str, src: &str) -> Result<(), String> {
    let module = naga::front::wgsl::parse_str(src).map_err(|e| e.emit_to_string(src))?;
    // the capabilities WebGPU guarantees, nothing more (no f16, no subgroups)
    let info = Validator::new(ValidationFlags::all(), Capabilities::empty())
        .validate(&module)
        .map_err(|e| e.emit_to_string(src))?;
    let entry = label.split('_').next().unwrap_or(label);
    let entry = module
        .entry_points
        .iter()
        .find(|ep| label.starts_with(ep.name.as_str()) || ep.name == entry)
        .ok_or_else(|| format!("no entry point named after the op in {label}"))?
        .name
        .clone();
    // resolve the `override` knobs to their defaults, as a pipeline with no constants does
    let (module, info) = naga::back::pipeline_constants::process_overrides(
        &module,
        &info,
        Some((naga::ShaderStage::Compute, &entry)),
        &Default::default(),
    )
    .map_err(|e| format!("overrides: {e}"))?;

    let spv_opts = spv::Options::default();
    spv::write_vec(
        &module,
        &info,
        &spv_opts,
        Some(&spv::PipelineOptions {
            shader_stage: naga::ShaderStage::Compute,
            entry_point: entry.clone(),
        }),
    )
    .map_err(|e| format!("SPIR-V: {e}"))?;

    let msl_opts = msl::Options {
        lang_version: (2, 1),
        fake_missing_bindings: true,
        ..Default::default()
    };
    msl::write_string(
        &module,
        &info,
        &msl_opts,
        &msl::PipelineOptions {
            entry_point: Some((naga::ShaderStage::Compute, entry.clone())),
            ..Default::default()
        },
    )
    .map_err(|e| format!("MSL: {e}"))?;
    Ok(())
}
