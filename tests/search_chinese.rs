//! C06: the search index works for Chinese under both language tags, and the shipped
//! browser script finds 入职 and 身份证 in it.

mod common;

use std::process::Command;

use beian_site::search::{self, Index};
use common::TestSite;

fn site_with_language(tag: &str) -> TestSite {
    let site = TestSite::new(&format!(
        "base_url = \"/\"\ntitle = \"t\"\ndefault_language = \"{tag}\"\nbuild_search_index = true\n"
    ));
    site.write(
        "content/onboard.md",
        "+++\ntitle = \"须知\"\n+++\n新员工入职须知：请携带身份证原件。\n",
    );
    site.write(
        "content/other.md",
        "+++\ntitle = \"其他\"\n+++\n年度薪酬信息填报。\n",
    );
    site
}

#[test]
fn c06_index_builds_for_zh_hans_and_zh_cn_and_finds_terms() {
    for tag in ["zh-Hans", "zh-CN"] {
        let built = site_with_language(tag).build();
        assert!(built.problems().is_empty(), "{tag}: {:?}", built.problems());
        let json = built.text("search-index.json");
        let index: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(index["lang"], tag);
        let docs: Vec<search::Doc> = index["docs"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| search::Doc {
                u: d["u"].as_str().unwrap().into(),
                t: d["t"].as_str().unwrap().into(),
                d: d["d"].as_str().unwrap().into(),
                b: d["b"].as_str().unwrap().into(),
            })
            .collect();
        let index = Index {
            lang: tag.into(),
            docs,
        };
        for term in ["入职", "身份证"] {
            let hits = search::query(&index, term);
            assert_eq!(hits.len(), 1, "{tag}: {term}");
            assert_eq!(hits[0].u, "/onboard/");
        }
    }
}

#[test]
fn c06_browser_search_script_finds_chinese_terms() {
    let built = site_with_language("zh-Hans").build();
    let dir = tempfile::tempdir().unwrap();
    let index_path = dir.path().join("index.json");
    std::fs::write(&index_path, built.text("search-index.json")).unwrap();
    let script = common::repo_root().join("site/static/js/search.js");
    let program = format!(
        "const s = require({script:?}); const index = require({index:?});\
         console.log(JSON.stringify(['入职', '身份证', '入职 原件', '离职'].map(q => s.search(index, q).map(d => d.u))));",
        script = script.to_str().unwrap(),
        index = index_path.to_str().unwrap(),
    );
    let out = Command::new("node")
        .args(["-e", &program])
        .output()
        .expect("node is installed");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let results: Vec<Vec<String>> = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        results,
        [
            vec!["/onboard/"],
            vec!["/onboard/"],
            vec!["/onboard/"],
            vec![]
        ]
    );
}
