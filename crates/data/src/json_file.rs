//! Reading Stan-format JSON: sizes as keys or array lengths, `null` as a missing cell.

use serde_json::Value;

use crate::cell::{check_cell, not_a_value, RawCell};
use crate::error::{DataError, ErrorKind, LoadError, Location, SizeSource};
use crate::loaded::LoadedData;
use crate::sizes::SizeTable;
use crate::spec::{DataDecl, DataSpec};
use crate::{assemble, Filled};

/// The file's top level: a JSON value whose object (if it is one) names no
/// key twice. A repeated key would otherwise hide its first value.
struct Root(Value);

impl<'de> serde::Deserialize<'de> for Root {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Root, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = Root;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Root, A::Error> {
                let mut object = serde_json::Map::new();
                while let Some(key) = map.next_key::<String>()? {
                    if object.contains_key(&key) {
                        return Err(serde::de::Error::custom(format!(
                            "key `{key}` is given twice (which value is meant?)"
                        )));
                    }
                    let value: Value = map.next_value()?;
                    object.insert(key, value);
                }
                Ok(Root(Value::Object(object)))
            }
            // Anything else is read as it is, and refused as not an object below.
            fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Root, A::Error> {
                let mut items = Vec::new();
                while let Some(item) = seq.next_element::<Value>()? {
                    items.push(item);
                }
                Ok(Root(Value::Array(items)))
            }
            fn visit_bool<E>(self, v: bool) -> Result<Root, E> {
                Ok(Root(Value::Bool(v)))
            }
            fn visit_i64<E>(self, v: i64) -> Result<Root, E> {
                Ok(Root(Value::from(v)))
            }
            fn visit_u64<E>(self, v: u64) -> Result<Root, E> {
                Ok(Root(Value::from(v)))
            }
            fn visit_f64<E>(self, v: f64) -> Result<Root, E> {
                Ok(Root(Value::from(v)))
            }
            fn visit_str<E>(self, v: &str) -> Result<Root, E> {
                Ok(Root(Value::from(v)))
            }
            fn visit_unit<E>(self) -> Result<Root, E> {
                Ok(Root(Value::Null))
            }
        }
        deserializer.deserialize_any(Visitor)
    }
}

pub(crate) fn load(spec: &DataSpec, file: &str, bytes: &[u8]) -> Result<LoadedData, LoadError> {
    let fail = |location, kind| LoadError {
        errors: vec![DataError {
            file: file.to_string(),
            location,
            kind,
            more: 0,
        }],
    };
    let content = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    if content.iter().all(|b| b.is_ascii_whitespace()) {
        return Err(fail(Location::File, ErrorKind::Empty));
    }
    let root: Value = match serde_json::from_slice::<Root>(content) {
        Ok(root) => root.0,
        Err(e) => {
            // serde_json appends " at line L column C"; the location says that already.
            let message = e.to_string();
            let message = match message.rfind(" at line ") {
                Some(at) => message[..at].to_string(),
                None => message,
            };
            return Err(fail(
                Location::JsonText {
                    line: e.line(),
                    column: e.column(),
                },
                ErrorKind::Syntax { message },
            ));
        }
    };
    let Value::Object(object) = root else {
        return Err(fail(Location::File, ErrorKind::NotAnObject));
    };

    let mut notes = Vec::new();
    for key in object.keys() {
        let declared = spec.sizes.iter().any(|s| &s.name == key)
            || spec.variables.iter().any(|d| &d.name == key);
        if !declared {
            notes.push(format!(
                "key `{key}` in {file} names no declaration; ignored"
            ));
        }
    }

    let mut errors = Vec::new();
    let mut sizes = SizeTable::new(spec);
    for size in &spec.sizes {
        let Some(value) = object.get(&size.name) else {
            continue;
        };
        if size.given.is_some() {
            notes.push(format!(
                "`{}` is set apart from {file}; its value in {file} is not read",
                size.name
            ));
            continue;
        }
        let location = Location::JsonValue {
            path: size.name.clone(),
        };
        let result = match size_value(value) {
            Some(n) => sizes.unify(&size.name, n, || SizeSource::JsonKey),
            None => Err(ErrorKind::BadSize {
                size: size.name.clone(),
                text: short_json(value),
            }),
        };
        if let Err(kind) = result {
            errors.push(DataError {
                file: file.to_string(),
                location,
                kind,
                more: 0,
            });
        }
    }

    let mut filled = Vec::with_capacity(spec.variables.len());
    let mut defaults_used = Vec::new();
    let mut set_apart = Vec::new();
    for decl in &spec.variables {
        let result = match (&decl.given, object.get(&decl.name)) {
            (Some(cells), value) => {
                if value.is_some() {
                    set_apart.push(decl);
                }
                Filled::given(decl, cells, &mut sizes).map_err(|kind| (Location::File, kind))
            }
            (None, None)
                if decl.value_when_absent().is_some() || decl.array_default().is_some() =>
            {
                if decl.default.is_some() {
                    defaults_used.push(decl);
                }
                Filled::absent(decl, &mut sizes).map_err(|kind| (Location::File, kind))
            }
            (None, None) => Err((
                Location::File,
                ErrorKind::MissingKey {
                    declaration: decl.clone(),
                },
            )),
            (None, Some(value)) => {
                let mut reader = Reader {
                    decl,
                    sizes: &mut sizes,
                    index: Vec::with_capacity(decl.shape.len()),
                    filled: Filled::with_capacity(0),
                };
                reader.read(value).map(|()| reader.filled)
            }
        };
        match result {
            Ok(cells) => filled.push(Some(cells)),
            Err((location, kind)) => {
                errors.push(DataError {
                    file: file.to_string(),
                    location,
                    kind,
                    more: 0,
                });
                filled.push(None);
            }
        }
    }
    notes.extend(crate::defaults_used(&defaults_used, file));
    notes.extend(crate::set_apart_note(&set_apart, file));
    assemble(spec, file, &mut sizes, filled, errors, notes, Vec::new())
}

/// A size key's value: a non-negative integral number that fits in memory's address range.
fn size_value(value: &Value) -> Option<usize> {
    if let Some(n) = value.as_u64() {
        return usize::try_from(n).ok();
    }
    let x = value.as_f64()?;
    if x >= 0.0 && x.fract() == 0.0 && x <= 9_007_199_254_740_992.0 {
        usize::try_from(x as u64).ok()
    } else {
        None
    }
}

/// A JSON value shown in a message, shortened.
fn short_json(value: &Value) -> String {
    let text = value.to_string();
    if text.chars().count() > 40 {
        let head: String = text.chars().take(40).collect();
        format!("{head}…")
    } else {
        text
    }
}

/// Walks one variable's nested arrays in row-major order, unifying lengths with sizes.
struct Reader<'a> {
    decl: &'a DataDecl,
    sizes: &'a mut SizeTable,
    /// The index of the value being read, one entry per enclosing array.
    index: Vec<usize>,
    filled: Filled,
}

impl Reader<'_> {
    /// `choice[3][17]`: the path of the value being read.
    fn path(&self) -> String {
        let mut path = self.decl.name.clone();
        for i in &self.index {
            path.push_str(&format!("[{i}]"));
        }
        path
    }

    fn here(&self) -> Location {
        Location::JsonValue { path: self.path() }
    }

    fn read(&mut self, value: &Value) -> Result<(), (Location, ErrorKind)> {
        let depth = self.index.len();
        if depth < self.decl.shape.len() {
            let Value::Array(items) = value else {
                return Err((
                    self.here(),
                    ErrorKind::WrongShape {
                        expected: "an array",
                        declaration: self.decl.clone(),
                    },
                ));
            };
            let path = self.path();
            self.sizes
                .unify_dim(self.decl, depth, items.len(), || SizeSource::JsonLength {
                    path: path.clone(),
                })
                .map_err(|kind| (Location::JsonValue { path }, kind))?;
            for (i, item) in items.iter().enumerate() {
                self.index.push(i);
                let result = self.read(item);
                self.index.pop();
                result?;
            }
            return Ok(());
        }
        let raw = match value {
            Value::Null => RawCell::Null,
            Value::Bool(b) => RawCell::Bool(*b),
            Value::Number(n) => match n.as_f64() {
                Some(x) => RawCell::Number(x),
                None => RawCell::Text("?"),
            },
            // Stan's JSON writes non-finite reals as strings.
            Value::String(s) => match s.as_str() {
                "Inf" | "Infinity" | "inf" => RawCell::Number(f64::INFINITY),
                "-Inf" | "-Infinity" | "-inf" => RawCell::Number(f64::NEG_INFINITY),
                "NaN" | "nan" => RawCell::Null,
                other => RawCell::Text(other),
            },
            Value::Array(_) | Value::Object(_) => {
                return Err((
                    self.here(),
                    ErrorKind::WrongShape {
                        expected: "a single value",
                        declaration: self.decl.clone(),
                    },
                ))
            }
        };
        // A JSON string is never a number, even when its text is one.
        if let (RawCell::Text(text), Value::String(_)) = (raw, value) {
            return Err((self.here(), not_a_value(text, self.decl)));
        }
        let cell = check_cell(raw, self.decl).map_err(|kind| (self.here(), kind))?;
        self.filled.push(cell);
        Ok(())
    }
}
