//! Chinese text rules: counting, reading time, emphasis and line breaks.
//!
//! CommonMark decides whether `**` opens or closes emphasis by looking at the characters
//! around it, and Chinese full-width punctuation counts as punctuation, so
//! `**注意：**本页` stays literal. Line breaks inside a paragraph become spaces, which
//! Chinese text must not have. Both are mended here on pulldown-cmark's event stream.

use pulldown_cmark::{CowStr, Event, Tag, TagEnd};

/// Reading speed for Chinese text, in characters a minute.
const CJK_CHARS_PER_MINUTE: f64 = 439.0;
/// Reading speed for other text, in words a minute.
const WORDS_PER_MINUTE: f64 = 200.0;

/// Whether `c` is a Chinese, Japanese or Korean letter (each one counts as a word).
pub fn is_cjk_letter(c: char) -> bool {
    matches!(c as u32,
        0x3400..=0x4DBF | 0x4E00..=0x9FFF | 0xF900..=0xFAFF | 0x20000..=0x3FFFF
        | 0x3040..=0x30FF | 0x31F0..=0x31FF | 0xAC00..=0xD7AF | 0x3100..=0x312F)
}

/// Whether `c` is full-width or CJK punctuation, such as 。，：《》（）“”.
pub fn is_cjk_punct(c: char) -> bool {
    matches!(c as u32,
        0x3000..=0x303F | 0xFF00..=0xFF0F | 0xFF1A..=0xFF20 | 0xFF3B..=0xFF40
        | 0xFF5B..=0xFF65 | 0xFE30..=0xFE4F | 0x2018..=0x201F | 0x2026 | 0x2014 | 0x00B7)
}

/// Whether `c` is a CJK letter or CJK punctuation.
pub fn is_cjk(c: char) -> bool {
    is_cjk_letter(c) || is_cjk_punct(c)
}

/// Counts words the way a reader would: each CJK letter is one word, and each run of other
/// letters or digits is one word.
pub fn word_count(text: &str) -> usize {
    let (cjk, words) = count_parts(text);
    cjk + words
}

/// Minutes to read `text`: Chinese at 439 characters a minute, other text at 200 words.
pub fn reading_time(text: &str) -> usize {
    let (cjk, words) = count_parts(text);
    (cjk as f64 / CJK_CHARS_PER_MINUTE + words as f64 / WORDS_PER_MINUTE).ceil() as usize
}

fn count_parts(text: &str) -> (usize, usize) {
    let mut cjk = 0;
    let mut words = 0;
    let mut in_word = false;
    for c in text.chars() {
        if is_cjk_letter(c) {
            cjk += 1;
            in_word = false;
        } else if c.is_alphanumeric() {
            if !in_word {
                words += 1;
            }
            in_word = true;
        } else if c != '\'' && c != '-' {
            in_word = false;
        }
    }
    (cjk, words)
}

/// Mends the event stream of one document: drops line breaks between CJK text and turns
/// `*`/`**` left literal next to CJK text into emphasis.
pub fn mend_events(events: &mut Vec<Event<'_>>) {
    drop_cjk_soft_breaks(events);
    merge_text(events);
    pair_cjk_emphasis(events);
}

fn drop_cjk_soft_breaks(events: &mut Vec<Event<'_>>) {
    let mut i = 1;
    while i + 1 < events.len() {
        if matches!(events[i], Event::SoftBreak) {
            let before = match &events[i - 1] {
                Event::Text(t) => t.chars().next_back(),
                _ => None,
            };
            let after = match &events[i + 1] {
                Event::Text(t) => t.chars().next(),
                _ => None,
            };
            if before.is_some_and(is_cjk) && after.is_some_and(is_cjk) {
                events.remove(i);
                continue;
            }
        }
        i += 1;
    }
}

fn merge_text(events: &mut Vec<Event<'_>>) {
    let mut out: Vec<Event<'_>> = Vec::with_capacity(events.len());
    for event in events.drain(..) {
        if let (Event::Text(next), Some(Event::Text(prev))) = (&event, out.last_mut()) {
            let mut joined = String::with_capacity(prev.len() + next.len());
            joined.push_str(prev);
            joined.push_str(next);
            *prev = CowStr::from(joined);
            continue;
        }
        out.push(event);
    }
    *events = out;
}

/// A run of `*`, `_` or `~` left in a text event.
#[derive(Debug, Clone, Copy)]
struct Delimiter {
    ch: u8,
    event: usize,
    start: usize,
    len: usize,
    container: usize,
    can_open: bool,
    can_close: bool,
    touches_cjk: bool,
    touches_cjk_punct: bool,
}

impl Delimiter {
    /// Whether `self` (an opener) and `closer` make a pair CommonMark refused only because
    /// of the Chinese text around them. `_` stays literal between Chinese letters, as it
    /// does between Latin ones; only Chinese punctuation frees it.
    fn pairs_with(&self, closer: &Delimiter) -> bool {
        let same =
            self.ch == closer.ch && self.len == closer.len && self.container == closer.container;
        let cjk = match self.ch {
            b'_' => self.touches_cjk_punct || closer.touches_cjk_punct,
            _ => self.touches_cjk || closer.touches_cjk,
        };
        same && cjk && (self.ch != b'~' || self.len <= 2)
    }
}

fn pair_cjk_emphasis(events: &mut Vec<Event<'_>>) {
    let delimiters = find_delimiters(events);
    if delimiters.is_empty() {
        return;
    }
    let mut openers: Vec<Delimiter> = Vec::new();
    let mut pairs: Vec<(Delimiter, Delimiter)> = Vec::new();
    for d in delimiters {
        if d.can_close {
            let found = openers.iter().rposition(|o| o.pairs_with(&d));
            if let Some(at) = found {
                pairs.push((openers[at], d));
                openers.truncate(at);
                continue;
            }
        }
        if d.can_open {
            openers.push(d);
        }
    }
    if pairs.is_empty() {
        return;
    }
    // Each cut is (event, byte offset, length, opening?); applied per event in offset order.
    let mut cuts: Vec<(usize, usize, usize, bool, u8)> = Vec::with_capacity(pairs.len() * 2);
    for (open, close) in pairs {
        cuts.push((open.event, open.start, open.len, true, open.ch));
        cuts.push((close.event, close.start, close.len, false, close.ch));
    }
    cuts.sort_by_key(|c| (c.0, c.1));
    let mut out = Vec::with_capacity(events.len() + cuts.len() * 2);
    let mut cut_iter = cuts.into_iter().peekable();
    for (index, event) in events.drain(..).enumerate() {
        if cut_iter.peek().map(|c| c.0) != Some(index) {
            out.push(event);
            continue;
        }
        let Event::Text(text) = event else {
            unreachable!("cuts are made only in text")
        };
        let mut pos = 0;
        while let Some(&(_, start, len, opening, ch)) = cut_iter.peek().filter(|c| c.0 == index) {
            cut_iter.next();
            if start > pos {
                out.push(Event::Text(CowStr::from(text[pos..start].to_string())));
            }
            out.extend(emphasis_tags(ch, len, opening));
            pos = start + len;
        }
        if pos < text.len() {
            out.push(Event::Text(CowStr::from(text[pos..].to_string())));
        }
    }
    *events = out;
}

fn emphasis_tags(ch: u8, len: usize, opening: bool) -> Vec<Event<'static>> {
    if ch == b'~' {
        return vec![if opening {
            Event::Start(Tag::Strikethrough)
        } else {
            Event::End(TagEnd::Strikethrough)
        }];
    }
    let open = |strong: bool| {
        if strong {
            Event::Start(Tag::Strong)
        } else {
            Event::Start(Tag::Emphasis)
        }
    };
    let close = |strong: bool| {
        if strong {
            Event::End(TagEnd::Strong)
        } else {
            Event::End(TagEnd::Emphasis)
        }
    };
    match (len, opening) {
        (1, true) => vec![open(false)],
        (1, false) => vec![close(false)],
        (2, true) => vec![open(true)],
        (2, false) => vec![close(true)],
        (_, true) => vec![open(true), open(false)],
        (_, false) => vec![close(false), close(true)],
    }
}

fn find_delimiters(events: &[Event<'_>]) -> Vec<Delimiter> {
    let mut found = Vec::new();
    let mut containers: Vec<usize> = vec![usize::MAX];
    for (index, event) in events.iter().enumerate() {
        match event {
            Event::Start(_) => containers.push(index),
            Event::End(_) => {
                containers.pop();
            }
            Event::Text(text) if text.contains(['*', '_', '~']) => {
                let container = *containers.last().unwrap_or(&usize::MAX);
                let before_text = neighbour_char(events, index, false);
                let after_text = neighbour_char(events, index, true);
                scan_text(text, index, container, before_text, after_text, &mut found);
            }
            _ => {}
        }
    }
    found
}

/// The character just outside a text event: a space at a block edge, a letter next to
/// inline code or a link, so that neither side counts as whitespace there.
fn neighbour_char(events: &[Event<'_>], index: usize, after: bool) -> char {
    let neighbour = if after {
        events.get(index + 1)
    } else {
        index.checked_sub(1).map(|i| &events[i])
    };
    match neighbour {
        None => ' ',
        Some(Event::SoftBreak | Event::HardBreak) => ' ',
        Some(Event::Start(tag)) if !after && is_block(tag) => ' ',
        Some(Event::End(tag)) if after && is_block_end(tag) => ' ',
        Some(Event::Text(t)) => {
            if after {
                t.chars().next().unwrap_or(' ')
            } else {
                t.chars().next_back().unwrap_or(' ')
            }
        }
        Some(_) => 'a',
    }
}

fn is_block(tag: &Tag<'_>) -> bool {
    !matches!(
        tag,
        Tag::Emphasis | Tag::Strong | Tag::Strikethrough | Tag::Link { .. } | Tag::Image { .. }
    )
}

fn is_block_end(tag: &TagEnd) -> bool {
    !matches!(
        tag,
        TagEnd::Emphasis | TagEnd::Strong | TagEnd::Strikethrough | TagEnd::Link | TagEnd::Image
    )
}

fn scan_text(
    text: &str,
    event: usize,
    container: usize,
    before_text: char,
    after_text: char,
    found: &mut Vec<Delimiter>,
) {
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let ch = bytes[i];
        if !matches!(ch, b'*' | b'_' | b'~') {
            i += 1;
            continue;
        }
        let start = i;
        while i < bytes.len() && bytes[i] == ch {
            i += 1;
        }
        let before = text[..start].chars().next_back().unwrap_or(before_text);
        let after = text[i..].chars().next().unwrap_or(after_text);
        let touches_cjk = is_cjk(before) || is_cjk(after);
        let touches_cjk_punct = is_cjk_punct(before) || is_cjk_punct(after);
        found.push(Delimiter {
            ch,
            event,
            start,
            len: i - start,
            container,
            can_open: !after.is_whitespace(),
            can_close: !before.is_whitespace(),
            touches_cjk,
            touches_cjk_punct,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_chinese_characters_as_words() {
        assert_eq!(word_count("新员工入职须知"), 7);
        assert_eq!(
            word_count("登录 nm12333 网站，点击“劳动用工备案”"),
            2 + 1 + 2 + 2 + 6
        );
        assert_eq!(word_count("hello world"), 2);
    }

    #[test]
    fn reading_time_uses_characters_for_chinese() {
        let page = "备".repeat(4390);
        assert_eq!(word_count(&page), 4390);
        assert_eq!(reading_time(&page), 10);
        assert_eq!(reading_time(""), 0);
    }
}
