//! Field-by-field validation of JSON bodies that names every bad field at once.
//!
//! serde stops at the first error; a caller fixing a rejected request wants all
//! of them. Request bodies are therefore parsed into a `serde_json::Value` first
//! and read through [`Fields`], which records a [`FieldError`] for each field
//! that is missing or wrong and lets parsing continue.

use serde::Serialize;
use serde_json::{Map, Value};

/// One bad field: its dotted path (`login.failed_mfa_attempts`) and what is wrong.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct FieldError {
    /// The field's dotted path, such as `login.failed_mfa_attempts` or `answers[0].mine`; `body` for the body itself.
    pub field: String,
    /// What is wrong with it.
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// Collects field errors while reading one JSON object (and its nested objects).
#[derive(Default)]
pub struct Fields {
    errors: Vec<FieldError>,
}

impl Fields {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn error(&mut self, field: impl Into<String>, message: impl Into<String>) {
        self.errors.push(FieldError::new(field, message));
    }

    /// The collected errors, or `Ok(value)` when there were none.
    pub fn finish<T>(self, value: impl FnOnce() -> T) -> Result<T, Vec<FieldError>> {
        if self.errors.is_empty() {
            Ok(value())
        } else {
            Err(self.errors)
        }
    }

    pub fn into_errors(self) -> Vec<FieldError> {
        self.errors
    }

    /// Reads a request body that must be a JSON object: `read` takes its
    /// fields, recording every bad one, and returns the value once it has
    /// all it needs. The one shape every body parser shares.
    pub fn read_object<T>(
        value: &Value,
        read: impl FnOnce(&mut Fields, &Map<String, Value>) -> Option<T>,
    ) -> Result<T, Vec<FieldError>> {
        let mut fields = Fields::new();
        let Some(map) = fields.object(value, "") else {
            return Err(fields.into_errors());
        };
        match read(&mut fields, map) {
            Some(parsed) if fields.errors.is_empty() => Ok(parsed),
            _ if fields.errors.is_empty() => Err(vec![FieldError::new("body", "is not valid")]),
            _ => Err(fields.errors),
        }
    }

    /// Reads a body that is a single required string field `path`, which
    /// `parse` accepts.
    pub fn read_one<T, E: Into<String>>(
        value: &Value,
        path: &str,
        parse: impl FnOnce(&str) -> Result<T, E>,
    ) -> Result<T, Vec<FieldError>> {
        Self::read_object(value, |fields, map| fields.required_parsed(map, path, parse))
    }

    /// A required string field that `parse` accepts; its error message is recorded otherwise.
    pub fn required_parsed<T, E: Into<String>>(
        &mut self,
        map: &Map<String, Value>,
        path: &str,
        parse: impl FnOnce(&str) -> Result<T, E>,
    ) -> Option<T> {
        let text = self.required_str(map, path)?;
        parse(text).map_err(|message| self.error(path, message)).ok()
    }

    /// A required string field, owned.
    pub fn required_string(&mut self, map: &Map<String, Value>, path: &str) -> Option<String> {
        self.required_str(map, path).map(str::to_owned)
    }

    /// The body itself must be a JSON object.
    pub fn object<'v>(&mut self, value: &'v Value, path: &str) -> Option<&'v Map<String, Value>> {
        match value {
            Value::Object(map) => Some(map),
            _ => {
                let field = if path.is_empty() { "body" } else { path };
                self.error(field, "must be a JSON object");
                None
            }
        }
    }

    /// A nested object; `None` (without error) when absent or null.
    pub fn optional_object<'v>(&mut self, map: &'v Map<String, Value>, path: &str) -> Option<&'v Map<String, Value>> {
        match map.get(leaf(path)) {
            None | Some(Value::Null) => None,
            Some(value) => self.object(value, path),
        }
    }

    pub fn required_str<'v>(&mut self, map: &'v Map<String, Value>, path: &str) -> Option<&'v str> {
        match map.get(leaf(path)) {
            None | Some(Value::Null) => {
                self.error(path, "is required");
                None
            }
            Some(Value::String(text)) => Some(text),
            Some(_) => {
                self.error(path, "must be a string");
                None
            }
        }
    }

    pub fn optional_str<'v>(&mut self, map: &'v Map<String, Value>, path: &str) -> Option<&'v str> {
        match map.get(leaf(path)) {
            None | Some(Value::Null) => None,
            Some(Value::String(text)) => Some(text),
            Some(_) => {
                self.error(path, "must be a string");
                None
            }
        }
    }

    /// A flag that defaults to false when absent.
    pub fn flag(&mut self, map: &Map<String, Value>, path: &str) -> bool {
        match map.get(leaf(path)) {
            None | Some(Value::Null) => false,
            Some(Value::Bool(flag)) => *flag,
            Some(_) => {
                self.error(path, "must be true or false");
                false
            }
        }
    }

    pub fn required_bool(&mut self, map: &Map<String, Value>, path: &str) -> Option<bool> {
        match map.get(leaf(path)) {
            None | Some(Value::Null) => {
                self.error(path, "is required");
                None
            }
            Some(Value::Bool(flag)) => Some(*flag),
            Some(_) => {
                self.error(path, "must be true or false");
                None
            }
        }
    }

    /// A non-negative whole number that defaults to zero when absent.
    pub fn count(&mut self, map: &Map<String, Value>, path: &str) -> u32 {
        match map.get(leaf(path)) {
            None | Some(Value::Null) => 0,
            Some(Value::Number(n)) => match n.as_u64().and_then(|n| u32::try_from(n).ok()) {
                Some(n) => n,
                None => {
                    self.error(path, "must be a whole number from 0 to 4294967295");
                    0
                }
            },
            Some(_) => {
                self.error(path, "must be a whole number");
                0
            }
        }
    }

    pub fn optional_number(&mut self, map: &Map<String, Value>, path: &str) -> Option<f64> {
        match map.get(leaf(path)) {
            None | Some(Value::Null) => None,
            Some(Value::Number(n)) => n.as_f64(),
            Some(_) => {
                self.error(path, "must be a number");
                None
            }
        }
    }
}

/// The last segment of a dotted path: the key inside its own object.
fn leaf(path: &str) -> &str {
    path.rsplit('.').next().unwrap_or(path)
}
