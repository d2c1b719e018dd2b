//! The search index: every page's title, description and visible text, searched in the
//! browser by substring, so Chinese needs no word segmentation.

use serde::Serialize;

/// One searchable document.
#[derive(Debug, Clone, Serialize)]
pub struct Doc {
    /// The page's URL.
    pub u: String,
    /// Title.
    pub t: String,
    /// Description.
    pub d: String,
    /// Visible text.
    pub b: String,
}

/// The file `search-index.json`.
#[derive(Debug, Clone, Serialize)]
pub struct Index {
    /// The site's language tag, as configured (`zh-CN`, `zh-Hans`…).
    pub lang: String,
    /// The documents.
    pub docs: Vec<Doc>,
}

/// Cuts `text` to at most `limit` characters; 0 keeps it whole.
pub fn truncate_chars(text: &str, limit: usize) -> String {
    if limit == 0 {
        return text.to_string();
    }
    match text.char_indices().nth(limit) {
        Some((at, _)) => text[..at].to_string(),
        None => text.to_string(),
    }
}

/// Finds the documents containing every term of `query`, best first. This mirrors the
/// browser's `search.js` and lets tests ask the index questions.
pub fn query<'a>(index: &'a Index, query: &str) -> Vec<&'a Doc> {
    let terms: Vec<String> = query.split_whitespace().map(str::to_lowercase).collect();
    if terms.is_empty() {
        return Vec::new();
    }
    let mut hits: Vec<(usize, &Doc)> = index
        .docs
        .iter()
        .filter_map(|doc| {
            let title = doc.t.to_lowercase();
            let all = format!(
                "{title}\n{}\n{}",
                doc.d.to_lowercase(),
                doc.b.to_lowercase()
            );
            if !terms.iter().all(|t| all.contains(t.as_str())) {
                return None;
            }
            let score = terms
                .iter()
                .map(|t| all.matches(t.as_str()).count() + 10 * title.matches(t.as_str()).count())
                .sum();
            Some((score, doc))
        })
        .collect();
    hits.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.u.cmp(&b.1.u)));
    hits.into_iter().map(|(_, d)| d).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_chinese_terms_inside_sentences() {
        let index = Index {
            lang: "zh-Hans".into(),
            docs: vec![
                Doc {
                    u: "/a/".into(),
                    t: "须知".into(),
                    d: String::new(),
                    b: "新员工入职须知：请携带身份证原件。".into(),
                },
                Doc {
                    u: "/b/".into(),
                    t: "其他".into(),
                    d: String::new(),
                    b: "无关内容".into(),
                },
            ],
        };
        assert_eq!(query(&index, "入职")[0].u, "/a/");
        assert_eq!(query(&index, "身份证").len(), 1);
        assert_eq!(query(&index, "入职 原件").len(), 1);
        assert!(query(&index, "离职").is_empty());
    }

    #[test]
    fn truncates_by_characters() {
        assert_eq!(truncate_chars("劳动用工备案", 2), "劳动");
        assert_eq!(truncate_chars("劳动", 0), "劳动");
    }
}
