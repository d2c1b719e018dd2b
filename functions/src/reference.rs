//! Reference numbers a person can read over the phone: twelve characters in three groups
//! (`K7QM-3XRT-9HAP`), from an alphabet without look-alikes (no 0/O, 1/I/L, U), the last
//! one a check character, so a mistyped reference is caught before any look-up.
//!
//! Eleven random characters from 30 give about 54 bits: with look-ups rate-limited,
//! guessing someone else's reference is impractical.

use rand::Rng;

/// The 30 characters a reference is made of.
pub const ALPHABET: &[u8; 30] = b"23456789ABCDEFGHJKMNPQRSTVWXYZ";

/// Random characters before the check character.
const RANDOM_LEN: usize = 11;

/// Makes a new random reference.
pub fn generate() -> String {
    let mut rng = rand::rng();
    let body: Vec<u8> = (0..RANDOM_LEN)
        .map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())])
        .collect();
    let check = check_char(&body);
    format_groups(&body, check)
}

/// The reference derived from `seed`: the same seed always gives the same reference. A bulk
/// upload's rows get theirs from the batch reference and the sheet row, so writing them again
/// after an interruption replaces them instead of adding copies.
pub fn derive(seed: &str) -> String {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(seed.as_bytes());
    // 256 is not a multiple of 30: the first 16 characters are a little more likely, which
    // costs well under a bit of the reference's 54.
    let body: Vec<u8> = digest
        .iter()
        .take(RANDOM_LEN)
        .map(|b| ALPHABET[usize::from(*b) % ALPHABET.len()])
        .collect();
    let check = check_char(&body);
    format_groups(&body, check)
}

/// The reference of row `index` (from 0) of the bulk upload `batch`.
pub fn of_row(batch: &str, index: usize) -> String {
    derive(&format!("{batch}#{index}"))
}

/// Why a typed reference is not one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Problem {
    /// Not twelve characters from the alphabet.
    Shape,
    /// The check character does not match: a character was misheard or mistyped.
    Check,
}

impl Problem {
    /// What to tell the person.
    pub fn message(self) -> &'static str {
        match self {
            Problem::Shape => "受理编号有误：编号共 12 位，由数字和大写字母组成（不含 0、1、I、L、O、U），请核对后再查",
            Problem::Check => "受理编号中有一位不对（最后一位是校验位，对不上）：请逐位核对后再查",
        }
    }
}

/// Normalises what a person typed (spaces, lower case, full-width characters, missing or
/// extra hyphens; O for 0 and I/L for 1 are not in the alphabet, so they are rejected) and
/// checks the check character. Gives the reference in its standard form.
pub fn parse(input: &str) -> Option<String> {
    check(input).ok()
}

/// Like `parse`, saying what is wrong.
pub fn check(input: &str) -> Result<String, Problem> {
    use unicode_normalization::UnicodeNormalization;
    let chars: Vec<u8> = input
        .nfkc()
        .filter(|c| !matches!(c, '-' | ' ' | '\u{3000}' | '—' | '\u{2010}'..='\u{2015}'))
        .map(|c| c.to_ascii_uppercase())
        .map(|c| if c.is_ascii() { c as u8 } else { b'?' })
        .collect();
    if chars.len() != RANDOM_LEN + 1 || !chars.iter().all(|c| ALPHABET.contains(c)) {
        return Err(Problem::Shape);
    }
    let (body, check) = chars.split_at(RANDOM_LEN);
    if check_char(body) == check[0] {
        Ok(format_groups(body, check[0]))
    } else {
        Err(Problem::Check)
    }
}

fn value(c: u8) -> usize {
    ALPHABET
        .iter()
        .position(|&a| a == c)
        .expect("only alphabet characters reach here")
}

/// ISO 7064 hybrid system with modulus 31 over the 30-character alphabet: catches every
/// single wrong character and most swaps of neighbours.
fn check_char(body: &[u8]) -> u8 {
    const M: usize = 30;
    let mut p = M;
    for &c in body {
        let mut s = (p + value(c)) % M;
        if s == 0 {
            s = M;
        }
        p = (s * 2) % (M + 1);
    }
    ALPHABET[(M + 1 - p) % M]
}

fn format_groups(body: &[u8], check: u8) -> String {
    let mut all = body.to_vec();
    all.push(check);
    let text = String::from_utf8(all).expect("alphabet is ASCII");
    format!("{}-{}-{}", &text[0..4], &text[4..8], &text[8..12])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_references_parse_back() {
        for _ in 0..1000 {
            let r = generate();
            assert_eq!(r.len(), 14);
            assert_eq!(parse(&r).as_deref(), Some(r.as_str()));
            assert_eq!(
                parse(&r.to_lowercase().replace('-', " ")).as_deref(),
                Some(r.as_str())
            );
        }
    }

    #[test]
    fn catches_every_single_wrong_character() {
        let r = generate().replace('-', "");
        for i in 0..r.len() {
            for &c in ALPHABET {
                let mut changed = r.clone().into_bytes();
                if changed[i] == c {
                    continue;
                }
                changed[i] = c;
                assert_eq!(parse(std::str::from_utf8(&changed).unwrap()), None);
            }
        }
    }

    #[test]
    fn accepts_full_width_input_and_says_when_only_the_check_fails() {
        let r = generate();
        let wide: String = r
            .chars()
            .map(|c| char::from_u32(c as u32 - 0x21 + 0xFF01).unwrap())
            .collect();
        assert_eq!(parse(&wide).as_deref(), Some(r.as_str()));
        assert_eq!(check("K7QM-3XRT-9HAC"), Err(Problem::Check));
        assert_eq!(parse("K7QM-3XRT-9HAP").as_deref(), Some("K7QM-3XRT-9HAP"));
    }

    #[test]
    fn rejects_look_alikes_and_wrong_lengths() {
        assert_eq!(parse("O000-0000-0000"), None);
        assert_eq!(parse("ABC"), None);
        assert_eq!(parse("中文中文-中文中文-中文中文"), None);
        assert_eq!(parse(""), None);
    }

    #[test]
    fn derived_references_are_valid_stable_and_distinct_per_seed() {
        let a = derive("K7QM-3XRT-9HAP#4");
        assert_eq!(parse(&a).as_deref(), Some(a.as_str()));
        assert_eq!(derive("K7QM-3XRT-9HAP#4"), a);
        let all: std::collections::HashSet<String> = (0..10_000)
            .map(|row| derive(&format!("K7QM-3XRT-9HAP#{row}")))
            .collect();
        assert_eq!(all.len(), 10_000);
    }
}
