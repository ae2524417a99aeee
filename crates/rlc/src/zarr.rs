//! `rlc run --output-format zarr`: the run as a Zarr (format 3) store, the
//! same DataTree the Python package returns (the driver's `tree` layout):
//! one group per DataTree group (`posterior`, `sample_stats`,
//! `observed_data`, …) holding one array per variable and per coordinate, the
//! axis names in each array's `dimension_names` (where xarray's Zarr backend
//! reads them) and the attributes in each group's `attributes`. It is
//! written once sampling has ended, from the draws in memory, so an
//! interrupted run's store holds every draw made, cut to the chains' common
//! length like the summary.
//!
//! The root group also carries the metadata of every node, in the tree's
//! order, as zarr-python's consolidated metadata (`consolidated_metadata` in
//! the root's `zarr.json`, not yet part of the Zarr specification): xarray
//! opens the store in one read, without a warning, with the groups and
//! variables in the order the Python package gives them.

use rlc_driver::tree::{Array, Attr, Tree, Values};
use serde_json::{Map, Value};
use std::path::Path;
use std::sync::Arc;
use zarrs::array::{data_type, ArrayBuilder, FillValue};
use zarrs::filesystem::FilesystemStore;
use zarrs::group::GroupBuilder;
use zarrs::metadata::v3::{AdditionalFieldV3, AdditionalFieldsV3};
use zarrs::storage::ReadableWritableListableStorage;

/// The Zarr store of a run of `model` in `dir`: `MODEL.zarr`.
pub fn store_path(dir: &Path, model: &str) -> std::path::PathBuf {
    dir.join(format!("{model}.zarr"))
}

/// Writes `tree` as a Zarr store at `path`, replacing a store already there
/// (a folder with a `zarr.json`); any other existing file or folder is an
/// error rather than something to delete. The store is written beside it
/// (`PATH.partial`) and renamed into place once whole, so a write that fails
/// (a full disk) leaves an earlier store as it was and no half store.
pub fn write(path: &Path, tree: &Tree) -> Result<(), String> {
    write_whole(path, |partial| write_store(partial, tree))
}

/// [`write`]'s replacing and renaming around `write_to`, which writes the
/// store at the path it is given.
fn write_whole(
    path: &Path,
    write_to: impl FnOnce(&Path) -> Result<(), String>,
) -> Result<(), String> {
    if path.exists() && !path.join("zarr.json").is_file() {
        return Err(format!(
            "{} exists and is not a Zarr store; move it away or choose another --output-dir",
            path.display()
        ));
    }
    let mut partial = path.as_os_str().to_owned();
    partial.push(".partial");
    let partial = std::path::PathBuf::from(partial);
    if partial.exists() {
        // Left by a write that failed before.
        std::fs::remove_dir_all(&partial)
            .map_err(|e| format!("cannot remove {}: {e}", partial.display()))?;
    }
    if let Err(e) = write_to(&partial) {
        let _ = std::fs::remove_dir_all(&partial);
        return Err(e);
    }
    if path.exists() {
        std::fs::remove_dir_all(path)
            .map_err(|e| format!("cannot replace {}: {e}", path.display()))?;
    }
    std::fs::rename(&partial, path).map_err(|e| {
        format!(
            "cannot move {} to {}: {e}",
            partial.display(),
            path.display()
        )
    })
}

/// Writes `tree` as a new Zarr store at `path`.
fn write_store(path: &Path, tree: &Tree) -> Result<(), String> {
    let store: ReadableWritableListableStorage =
        Arc::new(FilesystemStore::new(path).map_err(|e| e.to_string())?);
    // Every node's metadata document, keyed by its path, in writing order.
    let mut consolidated = Map::new();
    for group in &tree.groups {
        let attrs: Map<String, Value> = group
            .attrs
            .iter()
            .map(|(k, v)| (k.clone(), attr_json(v)))
            .collect();
        let node = GroupBuilder::new()
            .attributes(attrs)
            .build(store.clone(), &format!("/{}", group.name))
            .map_err(|e| e.to_string())?;
        node.store_metadata().map_err(|e| e.to_string())?;
        let metadata = serde_json::to_value(node.metadata()).map_err(|e| e.to_string())?;
        consolidated.insert(group.name.clone(), metadata);
        for array in group.variables.iter().chain(&group.coords) {
            let metadata = write_array(&store, &format!("/{}/{}", group.name, array.name), array)
                .map_err(|e| format!("{}/{}: {e}", group.name, array.name))?;
            consolidated.insert(format!("{}/{}", group.name, array.name), metadata);
        }
    }
    let mut index = Map::new();
    index.insert("kind".into(), Value::from("inline"));
    index.insert("metadata".into(), Value::Object(consolidated));
    let mut fields = AdditionalFieldsV3::new();
    // must_understand = false: readers that do not know the field ignore it.
    fields.insert(
        "consolidated_metadata".into(),
        AdditionalFieldV3::new(Value::Object(index), false),
    );
    GroupBuilder::new()
        .additional_fields(fields)
        .build(store.clone(), "/")
        .map_err(|e| e.to_string())?
        .store_metadata()
        .map_err(|e| e.to_string())?;
    Ok(())
}

fn attr_json(attr: &Attr) -> Value {
    // JSON has no NaN; serde_json writes a non-finite float as null.
    match attr {
        Attr::Text(s) => Value::from(s.clone()),
        Attr::Int(i) => Value::from(*i),
        Attr::UInt(i) => Value::from(*i),
        Attr::Float(x) => Value::from(*x),
        Attr::Texts(v) => Value::from(v.clone()),
        Attr::Floats(v) => Value::from(v.clone()),
        Attr::Ints(v) => Value::from(v.clone()),
    }
}

/// One array, in one chunk per chain when its first axis is `chain` (so a
/// reader can load one chain at a time), else in one chunk; returns its
/// metadata document.
fn write_array(
    store: &ReadableWritableListableStorage,
    path: &str,
    array: &Array,
) -> Result<Value, Box<dyn std::error::Error>> {
    let shape: Vec<u64> = array.shape.iter().map(|&n| n as u64).collect();
    // Chunks need a non-zero length on every axis, even an empty one.
    let mut chunk: Vec<u64> = shape.iter().map(|&n| n.max(1)).collect();
    if array.dims.first().is_some_and(|d| d == "chain") {
        chunk[0] = 1;
    }
    let builder = |data_type, fill: FillValue| {
        let mut b = ArrayBuilder::new(shape.clone(), chunk.clone(), data_type, fill);
        b.dimension_names(Some(array.dims.iter().map(String::as_str)));
        b
    };
    let whole = zarrs::array::ArraySubset::new_with_shape(shape.clone());
    match &array.values {
        Values::Float(v) => {
            let a = builder(data_type::float64(), FillValue::from(f64::NAN))
                .build(store.clone(), path)?;
            a.store_metadata()?;
            a.store_array_subset(&whole, v.as_slice())?;
            Ok(serde_json::to_value(a.metadata())?)
        }
        Values::Int(v) => {
            let a =
                builder(data_type::int64(), FillValue::from(0i64)).build(store.clone(), path)?;
            a.store_metadata()?;
            a.store_array_subset(&whole, v.as_slice())?;
            Ok(serde_json::to_value(a.metadata())?)
        }
        Values::Bool(v) => {
            let a =
                builder(data_type::bool(), FillValue::from(false)).build(store.clone(), path)?;
            a.store_metadata()?;
            a.store_array_subset(&whole, v.as_slice())?;
            Ok(serde_json::to_value(a.metadata())?)
        }
        Values::Text(v) => {
            let a = builder(data_type::string(), FillValue::from("")).build(store.clone(), path)?;
            a.store_metadata()?;
            a.store_array_subset(&whole, v.as_slice())?;
            Ok(serde_json::to_value(a.metadata())?)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::write_whole;

    /// A store whose writing fails part-way (a full disk) leaves the earlier
    /// store as it was and no half-written one; a whole one replaces it.
    #[test]
    fn a_failed_write_keeps_the_earlier_store() {
        let dir = std::env::temp_dir().join(format!("rlc-zarr-whole-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let path = dir.join("model.zarr");
        std::fs::create_dir_all(&path).expect("store");
        std::fs::write(path.join("zarr.json"), "earlier").expect("metadata");
        let failed = write_whole(&path, |partial| {
            std::fs::create_dir_all(partial).map_err(|e| e.to_string())?;
            std::fs::write(partial.join("zarr.json"), "half").map_err(|e| e.to_string())?;
            Err("No space left on device".to_string())
        });
        assert_eq!(failed, Err("No space left on device".to_string()));
        let kept = std::fs::read_to_string(path.join("zarr.json")).expect("kept");
        assert_eq!(kept, "earlier");
        assert!(!dir.join("model.zarr.partial").exists());
        write_whole(&path, |partial| {
            std::fs::create_dir_all(partial).map_err(|e| e.to_string())?;
            std::fs::write(partial.join("zarr.json"), "new").map_err(|e| e.to_string())
        })
        .expect("whole");
        let replaced = std::fs::read_to_string(path.join("zarr.json")).expect("replaced");
        assert_eq!(replaced, "new");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
