//! A cursor over a prefix of a GGUF file. Every read first asks `ensure`, which turns
//! "not in this prefix" into `NeedMore` and "not in any sane header" into `TooLarge`,
//! so the parser above never indexes out of bounds and never trusts a length it has not
//! checked against the bytes it holds.

use crate::{GgufError, MAX_HEADER_BYTES};

pub(crate) struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    pub(crate) fn new(bytes: &'a [u8]) -> Self {
        Reader { bytes, pos: 0 }
    }

    /// Absolute file offset of the next byte to read.
    pub(crate) fn pos(&self) -> u64 {
        self.pos as u64
    }

    /// Checks that the `n` bytes after the cursor are in the prefix, without consuming them.
    /// Callers use this as a lookahead before allocating for a count read from the file:
    /// once it passes, `n` bytes really exist, so a capacity of `n / min_element_size`
    /// is justified by the input. `what` is only evaluated to build an error.
    pub(crate) fn ensure(&self, n: u64, what: impl FnOnce() -> String) -> Result<(), GgufError> {
        let end = self
            .pos()
            .checked_add(n)
            .filter(|&end| end <= MAX_HEADER_BYTES);
        match end {
            None => Err(GgufError::TooLarge {
                what: what(),
                implied: self.pos().saturating_add(n),
                limit: MAX_HEADER_BYTES,
            }),
            Some(end) if end > self.bytes.len() as u64 => Err(GgufError::NeedMore { needed: end }),
            Some(_) => Ok(()),
        }
    }

    pub(crate) fn take(
        &mut self,
        n: u64,
        what: impl FnOnce() -> String,
    ) -> Result<&'a [u8], GgufError> {
        self.ensure(n, what)?;
        // `ensure` proved pos + n <= bytes.len(), so n fits usize and the slice is in bounds.
        let start = self.pos;
        self.pos += n as usize;
        Ok(&self.bytes[start..self.pos])
    }

    fn array<const N: usize>(
        &mut self,
        what: impl FnOnce() -> String,
    ) -> Result<[u8; N], GgufError> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N as u64, what)?);
        Ok(out)
    }

    pub(crate) fn u8(&mut self, what: impl FnOnce() -> String) -> Result<u8, GgufError> {
        Ok(self.array::<1>(what)?[0])
    }

    pub(crate) fn i8(&mut self, what: impl FnOnce() -> String) -> Result<i8, GgufError> {
        Ok(i8::from_le_bytes(self.array(what)?))
    }

    pub(crate) fn u16(&mut self, what: impl FnOnce() -> String) -> Result<u16, GgufError> {
        Ok(u16::from_le_bytes(self.array(what)?))
    }

    pub(crate) fn i16(&mut self, what: impl FnOnce() -> String) -> Result<i16, GgufError> {
        Ok(i16::from_le_bytes(self.array(what)?))
    }

    pub(crate) fn u32(&mut self, what: impl FnOnce() -> String) -> Result<u32, GgufError> {
        Ok(u32::from_le_bytes(self.array(what)?))
    }

    pub(crate) fn i32(&mut self, what: impl FnOnce() -> String) -> Result<i32, GgufError> {
        Ok(i32::from_le_bytes(self.array(what)?))
    }

    pub(crate) fn u64(&mut self, what: impl FnOnce() -> String) -> Result<u64, GgufError> {
        Ok(u64::from_le_bytes(self.array(what)?))
    }

    pub(crate) fn i64(&mut self, what: impl FnOnce() -> String) -> Result<i64, GgufError> {
        Ok(i64::from_le_bytes(self.array(what)?))
    }

    pub(crate) fn f32(&mut self, what: impl FnOnce() -> String) -> Result<f32, GgufError> {
        Ok(f32::from_le_bytes(self.array(what)?))
    }

    pub(crate) fn f64(&mut self, what: impl FnOnce() -> String) -> Result<f64, GgufError> {
        Ok(f64::from_le_bytes(self.array(what)?))
    }

    /// A GGUF string: u64 byte length, then UTF-8 bytes (no terminator).
    pub(crate) fn string(&mut self, what: impl Fn() -> String) -> Result<String, GgufError> {
        let len = self.u64(|| format!("length of {}", what()))?;
        let at = self.pos();
        let bytes = self.take(len, || {
            format!("{}, {len} bytes long at offset {at},", what())
        })?;
        match std::str::from_utf8(bytes) {
            Ok(s) => Ok(s.to_owned()),
            Err(e) => Err(GgufError::InvalidUtf8 {
                what: what(),
                offset: at + e.valid_up_to() as u64,
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ensure_distinguishes_short_prefix_from_absurd_length() {
        let r = Reader::new(&[0; 10]);
        assert!(r.ensure(10, String::new).is_ok());
        assert_eq!(
            r.ensure(11, String::new),
            Err(GgufError::NeedMore { needed: 11 })
        );
        assert!(matches!(
            r.ensure(MAX_HEADER_BYTES + 1, String::new),
            Err(GgufError::TooLarge { .. })
        ));
        assert!(matches!(
            r.ensure(u64::MAX, String::new),
            Err(GgufError::TooLarge {
                implied: u64::MAX,
                ..
            })
        ));
    }

    #[test]
    fn reads_are_little_endian_and_advance() {
        let mut r = Reader::new(&[1, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0xFF]);
        assert_eq!(r.u32(String::new), Ok(1));
        assert_eq!(r.u64(String::new), Ok(2));
        assert_eq!(r.i8(String::new), Ok(-1));
        assert_eq!(r.pos(), 13);
        assert_eq!(r.u8(String::new), Err(GgufError::NeedMore { needed: 14 }));
    }
}
