//! The Windows registry (read-only) and WMI (queries and method calls) of the real machine.

use super::{RegValue, SysError, WmiObject};
use std::collections::HashMap;
use winreg::enums::{HKEY_CURRENT_USER, HKEY_LOCAL_MACHINE, KEY_READ};
use winreg::RegKey;

pub fn registry(key: &str, value: &str) -> Result<RegValue, SysError> {
    let (hive, path) = key
        .split_once('\\')
        .ok_or_else(|| SysError::Other(format!("registry key {key} names no hive")))?;
    let root = match hive {
        "HKLM" => HKEY_LOCAL_MACHINE,
        "HKCU" => HKEY_CURRENT_USER,
        other => return Err(SysError::Other(format!("registry hive {other} is not read"))),
    };
    let name = super::registry_entry(key, value);
    let opened = RegKey::predef(root)
        .open_subkey_with_flags(path, KEY_READ)
        .map_err(|e| super::io_error(&name, e))?;
    if value.is_empty() {
        // The key itself: its default value, or empty text when it exists without one.
        return Ok(RegValue::Text(
            opened.get_value::<String, _>("").unwrap_or_default(),
        ));
    }
    // A DWORD and a QWORD read as numbers, anything else as text; the type error of each try is
    // not interesting, only whether one of them fits.
    if let Ok(n) = opened.get_value::<u32, _>(value) {
        return Ok(RegValue::Number(u64::from(n)));
    }
    if let Ok(n) = opened.get_value::<u64, _>(value) {
        return Ok(RegValue::Number(n));
    }
    opened
        .get_value::<String, _>(value)
        .map(RegValue::Text)
        .map_err(|e| super::io_error(&name, e))
}

fn connect(namespace: &str) -> Result<wmi::WMIConnection, SysError> {
    wmi::WMIConnection::with_namespace_path(namespace).map_err(|e| wmi_error(namespace, e))
}

fn wmi_error(what: &str, e: wmi::WMIError) -> SysError {
    let text = e.to_string();
    // WBEM_E_INVALID_NAMESPACE (0x8004100E): Windows Server has no Security Center namespace.
    if text.contains("0x8004100E") || text.contains("Invalid namespace") {
        SysError::NotFound(format!("WMI namespace {what}"))
    } else if text.contains("0x80041003") || text.contains("Access denied") {
        SysError::Denied(what.to_string())
    } else {
        SysError::Other(format!("{what}: {text}"))
    }
}

fn json(v: &wmi::Variant) -> serde_json::Value {
    serde_json::to_value(v).unwrap_or(serde_json::Value::Null)
}

pub fn wmi_query(namespace: &str, query: &str) -> Result<Vec<WmiObject>, SysError> {
    let rows: Vec<HashMap<String, wmi::Variant>> = connect(namespace)?
        .raw_query(query)
        .map_err(|e| wmi_error(&super::wmi_query_entry(namespace, query), e))?;
    Ok(rows
        .iter()
        .map(|row| row.iter().map(|(k, v)| (k.clone(), json(v))).collect())
        .collect())
}

pub fn wmi_method(namespace: &str, object_path: &str, method: &str) -> Result<WmiObject, SysError> {
    let what = super::wmi_method_entry(namespace, object_path, method);
    let out = connect(namespace)?
        .exec_method(object_path, method, None)
        .map_err(|e| wmi_error(&what, e))?
        .ok_or_else(|| SysError::Other(format!("{what} returned nothing")))?;
    let names = out.list_properties().map_err(|e| wmi_error(&what, e))?;
    names
        .into_iter()
        .map(|name| {
            let value = out.get_property(&name).map_err(|e| wmi_error(&what, e))?;
            Ok((name, json(&value)))
        })
        .collect()
}
