//! Typed metadata getters, so model code reads `g.get_u32("llama.block_count")?` and a
//! bad file fails with "missing key ..." or "key ... has type string, expected u32".
//!
//! Integer getters accept every integer type whose value fits, because converters disagree
//! (the same key is u32 in one file, i32 or u64 in another). Float getters also accept
//! integers. Array getters name the offending element: "key 'x[5]' has type ...".

use crate::{Gguf, GgufError, Value};

/// Why a value could not become the requested type.
enum Mismatch {
    WrongType,
    OutOfRange,
}

/// A Rust type a metadata value can be read as.
trait FromValue<'a>: Sized {
    const EXPECTED: &'static str;
    const EXPECTED_ARRAY: &'static str;
    fn from_value(v: &'a Value) -> Result<Self, Mismatch>;
}

fn integer<T: TryFrom<i128>>(v: &Value) -> Result<T, Mismatch> {
    let x = v.as_i128().ok_or(Mismatch::WrongType)?;
    T::try_from(x).map_err(|_| Mismatch::OutOfRange)
}

macro_rules! integer_from_value {
    ($($t:ty => $name:literal),*) => {$(
        impl FromValue<'_> for $t {
            const EXPECTED: &'static str = $name;
            const EXPECTED_ARRAY: &'static str = concat!("array of ", $name);
            fn from_value(v: &Value) -> Result<Self, Mismatch> {
                integer(v)
            }
        }
    )*};
}

integer_from_value!(u32 => "u32", u64 => "u64", i32 => "i32");

impl FromValue<'_> for f32 {
    const EXPECTED: &'static str = "f32";
    const EXPECTED_ARRAY: &'static str = "array of f32";
    fn from_value(v: &Value) -> Result<Self, Mismatch> {
        let x = v.as_f64().ok_or(Mismatch::WrongType)?;
        let y = x as f32;
        // Narrowing a finite f64 past f32's range would silently give infinity.
        if x.is_finite() && !y.is_finite() {
            return Err(Mismatch::OutOfRange);
        }
        Ok(y)
    }
}

impl FromValue<'_> for bool {
    const EXPECTED: &'static str = "bool";
    const EXPECTED_ARRAY: &'static str = "array of bool";
    fn from_value(v: &Value) -> Result<Self, Mismatch> {
        v.as_bool().ok_or(Mismatch::WrongType)
    }
}

impl<'a> FromValue<'a> for &'a str {
    const EXPECTED: &'static str = "string";
    const EXPECTED_ARRAY: &'static str = "array of string";
    fn from_value(v: &'a Value) -> Result<Self, Mismatch> {
        v.as_str().ok_or(Mismatch::WrongType)
    }
}

fn convert<'a, T: FromValue<'a>>(key: &str, v: &'a Value) -> Result<T, GgufError> {
    T::from_value(v).map_err(|m| match m {
        Mismatch::WrongType => GgufError::WrongType {
            key: key.to_owned(),
            expected: T::EXPECTED,
            found: v.describe_type(),
        },
        Mismatch::OutOfRange => GgufError::OutOfRange {
            key: key.to_owned(),
            value: v.describe_number(),
            expected: T::EXPECTED,
        },
    })
}

impl Gguf {
    fn scalar<'a, T: FromValue<'a>>(&'a self, key: &str) -> Result<Option<T>, GgufError> {
        self.get(key).map(|v| convert(key, v)).transpose()
    }

    fn array<'a, T: FromValue<'a>>(&'a self, key: &str) -> Result<Option<Vec<T>>, GgufError> {
        let Some(v) = self.get(key) else {
            return Ok(None);
        };
        let items = v.as_array().ok_or_else(|| GgufError::WrongType {
            key: key.to_owned(),
            expected: T::EXPECTED_ARRAY,
            found: v.describe_type(),
        })?;
        let mut out = Vec::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            // The element key is only formatted on failure: vocabularies have 262k entries.
            out.push(T::from_value(item).or_else(|_| convert(&format!("{key}[{i}]"), item))?);
        }
        Ok(Some(out))
    }
}

fn required<T>(key: &str, found: Option<T>) -> Result<T, GgufError> {
    found.ok_or_else(|| GgufError::MissingKey {
        key: key.to_owned(),
    })
}

/// Defines `get_x` (missing key is an error) and `get_x_opt` (missing key is `Ok(None)`).
macro_rules! getters {
    ($($get:ident, $get_opt:ident, $via:ident -> $t:ty, $doc:literal;)*) => {
        impl Gguf {$(
            #[doc = $doc]
            pub fn $get(&self, key: &str) -> Result<$t, GgufError> {
                required(key, self.$via(key)?)
            }

            #[doc = $doc]
            #[doc = "\n\n`Ok(None)` when the key is missing."]
            pub fn $get_opt(&self, key: &str) -> Result<Option<$t>, GgufError> {
                self.$via(key)
            }
        )*}
    };
}

getters! {
    get_u32, get_u32_opt, scalar -> u32, "A u32, from any integer type whose value fits.";
    get_u64, get_u64_opt, scalar -> u64, "A u64, from any non-negative integer.";
    get_i32, get_i32_opt, scalar -> i32, "An i32, from any integer type whose value fits.";
    get_f32, get_f32_opt, scalar -> f32, "An f32, from f32, f64 (in range) or any integer.";
    get_bool, get_bool_opt, scalar -> bool, "A bool.";
    get_str, get_str_opt, scalar -> &str, "A string.";
    get_str_array, get_str_array_opt, array -> Vec<&str>, "An array of strings (an empty array of any type is accepted).";
    get_f32_array, get_f32_array_opt, array -> Vec<f32>, "An array of f32, elements converted as `get_f32` does.";
    get_i32_array, get_i32_array_opt, array -> Vec<i32>, "An array of i32, elements converted as `get_i32` does.";
    get_u32_array, get_u32_array_opt, array -> Vec<u32>, "An array of u32, elements converted as `get_u32` does.";
}
