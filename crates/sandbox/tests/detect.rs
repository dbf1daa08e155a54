#![allow(clippy::unwrap_used, clippy::expect_used)]
//! `detect` against the real host (bubblewrap installed, as CI must have it).

use agentd_sandbox::{ProcessCap, SandboxError, SandboxMode, SandboxSetting, detect, detect_in};

#[test]
fn auto_finds_a_working_bubblewrap() {
    let mode = detect(SandboxSetting::Auto).expect("bubblewrap must be installed for these tests");
    let SandboxMode::Bubblewrap { bwrap, process_cap } = mode else {
        panic!("expected bubblewrap, got {mode:?}");
    };
    assert!(bwrap.ends_with("bwrap"), "{}", bwrap.display());
    // This suite runs on Linux 6.14+ (see the escape suite's fork bomb test).
    assert_eq!(process_cap, ProcessCap::PidNamespace);
}

#[test]
fn explicit_bubblewrap_is_detected_too() {
    assert!(matches!(
        detect(SandboxSetting::Bubblewrap),
        Ok(SandboxMode::Bubblewrap { .. })
    ));
}

#[test]
fn missing_bubblewrap_is_an_error_naming_the_fix() {
    let empty = tempfile::tempdir().unwrap();
    for setting in [SandboxSetting::Auto, SandboxSetting::Bubblewrap] {
        let err = detect_in(setting, empty.path().as_os_str()).unwrap_err();
        assert!(matches!(err, SandboxError::Missing), "{err:?}");
        let message = err.to_string();
        assert!(message.contains("apt-get install bubblewrap"), "{message}");
        assert!(message.contains("sandbox = \"none\""), "{message}");
    }
}

#[test]
fn none_only_when_configured_and_without_probing() {
    let empty = tempfile::tempdir().unwrap();
    let mode = detect_in(SandboxSetting::None, empty.path().as_os_str()).unwrap();
    assert_eq!(mode, SandboxMode::None);
}

#[test]
fn the_setting_reads_from_config_text() {
    let parsed: Vec<SandboxSetting> =
        serde_json::from_str(r#"["auto", "bubblewrap", "none"]"#).unwrap();
    assert_eq!(
        parsed,
        [
            SandboxSetting::Auto,
            SandboxSetting::Bubblewrap,
            SandboxSetting::None
        ]
    );
}
