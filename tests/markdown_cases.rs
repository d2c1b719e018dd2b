//! The Chinese markdown and template cases from public bug reports (C01, C03, C04, C05,
//! C07, C09), each built as a small site.

mod common;

use common::TestSite;

const CONFIG: &str =
    "base_url = \"https://example.com/zh\"\ntitle = \"测试\"\ndefault_language = \"zh-CN\"\n";

#[test]
fn c01_emphasis_next_to_chinese_punctuation_renders_as_strong() {
    let site = TestSite::new(CONFIG);
    site.write(
        "content/notice.md",
        "+++\ntitle = \"须知\"\n+++\n请**务必阅读《员工手册》**后签字。\n\n**注意：**本页面仅供内部使用。\n\n这是**加粗**，然后\n",
    );
    let built = site.build();
    let html = built.text("notice/index.html");
    assert!(
        html.contains("请<strong>务必阅读《员工手册》</strong>后签字。"),
        "{html}"
    );
    assert!(
        html.contains("<strong>注意：</strong>本页面仅供内部使用。"),
        "{html}"
    );
    assert!(html.contains("这是<strong>加粗</strong>，然后"), "{html}");
    assert!(!html.contains("**"), "a literal ** is left in {html}");
}

#[test]
fn c03_chinese_headings_get_distinct_stable_ids_matching_the_toc() {
    let site = TestSite::new(CONFIG);
    site.write(
        "content/terms.md",
        "+++\ntitle = \"术语\"\n+++\n## 试用\n\n## 适用\n\n## 概述\n\n## 概述\n",
    );
    let first = site.build().text("terms/index.html");
    for (id, text) in [
        ("试用", "试用"),
        ("适用", "适用"),
        ("概述", "概述"),
        ("概述-1", "概述"),
    ] {
        assert!(
            first.contains(&format!("<h2 id=\"{id}\">{text}</h2>")),
            "missing id {id} in {first}"
        );
        assert!(
            first.contains(&format!("<a href=\"#{id}\">")),
            "TOC lacks #{id}"
        );
    }
    assert_eq!(
        first,
        site.build().text("terms/index.html"),
        "ids change between builds"
    );

    // Distinct texts keep their ids whatever the order.
    site.write(
        "content/terms.md",
        "+++\ntitle = \"术语\"\n+++\n## 适用\n\n## 试用\n",
    );
    let reordered = site.build().text("terms/index.html");
    assert!(
        reordered.contains("<h2 id=\"试用\">试用</h2>")
            && reordered.contains("<h2 id=\"适用\">适用</h2>")
    );
}

#[test]
fn c04_links_to_chinese_anchors_resolve_and_only_the_missing_one_is_reported() {
    let site = TestSite::new(CONFIG);
    site.write("content/guide/_index.md", "+++\ntitle = \"指南\"\n+++\n");
    site.write(
        "content/guide/安装.md",
        "+++\ntitle = \"安装\"\n+++\n## 安装步骤\n\n[同页](#安装步骤) [编码](#%E5%AE%89%E8%A3%85%E6%AD%A5%E9%AA%A4) [坏](#不存在)\n",
    );
    site.write(
        "content/other.md",
        "+++\ntitle = \"其他\"\n+++\n[见安装](@/guide/安装.md#安装步骤)\n",
    );
    let built = site.build();
    let problems = built.problems();
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(
        problems[0].contains("content/guide/安装.md") && problems[0].contains("#不存在"),
        "{problems:?}"
    );

    let other = built.text("other/index.html");
    let href = other
        .split("href=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap();
    let decoded = percent_encoding::percent_decode_str(href)
        .decode_utf8()
        .unwrap();
    assert!(decoded.ends_with("/guide/安装/#安装步骤"), "{decoded}");
    let page = built.text("guide/安装/index.html");
    let main = page.split("<main>").nth(1).unwrap();
    let decoded = percent_encoding::percent_decode_str(main)
        .decode_utf8()
        .unwrap();
    assert_eq!(decoded.matches("href=\"#安装步骤\"").count(), 2, "{page}");
}

#[test]
fn c04_check_command_fails_on_the_missing_anchor_naming_the_file() {
    let site = TestSite::new(CONFIG);
    site.write(
        "content/a.md",
        "+++\ntitle = \"甲\"\n+++\n## 有\n\n[坏](#不存在) [好](#有)\n",
    );
    let out = std::process::Command::new(common::beian_bin())
        .args(["--root", site.root().to_str().unwrap(), "check"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success(),
        "check passed despite a missing anchor"
    );
    assert!(
        stderr.contains("content/a.md") && stderr.contains("#不存在"),
        "{stderr}"
    );
    assert!(!stderr.contains("#有"), "{stderr}");

    let build = std::process::Command::new(common::beian_bin())
        .args([
            "--root",
            site.root().to_str().unwrap(),
            "build",
            "--output-dir",
        ])
        .arg(site.root().join("out"))
        .output()
        .unwrap();
    assert!(
        !build.status.success(),
        "build passed despite a missing anchor"
    );
}

#[test]
fn c05_bom_and_crlf_files_read_the_same_as_clean_ones() {
    let site = TestSite::new(CONFIG);
    let mut bom = vec![0xEF, 0xBB, 0xBF];
    bom.extend_from_slice("+++\r\ntitle = \"关于我们\"\r\n+++\r\n正文".as_bytes());
    site.write_bytes("content/about.md", &bom);
    site.write("content/clean.md", "+++\ntitle = \"关于我们\"\n+++\n正文");
    let built = site.build();
    assert!(built.problems().is_empty(), "{:?}", built.problems());
    let about = built.text("about/index.html");
    assert!(
        about.contains("<title>关于我们</title>") && about.contains("<p>正文</p>"),
        "{about}"
    );
    assert!(!about.contains('\u{feff}'));
    assert_eq!(about, built.text("clean/index.html"));
}

#[test]
fn c07_urls_in_templates_are_not_escaped_but_titles_are() {
    let site = TestSite::new("base_url = \"https://example.com\"\ntitle = \"t\"\n");
    site.write(
        "templates/page.html",
        "<a href=\"{{ page.permalink }}\">{{ page.title }}</a>",
    );
    site.write(
        "content/zh/about.md",
        "+++\ntitle = \"研发 & 测试 <内部>\"\n+++\n",
    );
    let html = site.build().text("zh/about/index.html");
    assert_eq!(
        html,
        "<a href=\"https://example.com/zh/about/\">研发 &amp; 测试 &lt;内部&gt;</a>"
    );
}

#[test]
fn c09_truncate_word_count_and_reading_time_handle_chinese() {
    let site = TestSite::new(CONFIG);
    site.write(
        "templates/page.html",
        "{{ \"员工手册第二版修订说明👩‍💻\" | truncate(length=4) }}|{{ page.word_count }}|{{ page.reading_time }}",
    );
    site.write(
        "content/long.md",
        &format!("+++\ntitle = \"长文\"\n+++\n{}\n", "备".repeat(4390)),
    );
    let html = site.build().text("long/index.html");
    assert_eq!(html, "员工手册…|4390|10");
}

#[test]
fn front_matter_errors_name_the_file_and_the_fix() {
    let site = TestSite::new(CONFIG);
    site.write(
        "content/bad.md",
        "+++\ntitle = \"x\"\ncolour = \"红\"\n+++\n",
    );
    site.write("content/none.md", "正文没有前言");
    site.write("content/ok.md", "+++\ntitle = \"好\"\n+++\n![](pic.png)\n");
    let problems = site.build().problems();
    let joined = problems.join("\n");
    assert!(
        joined.contains("content/bad.md") && joined.contains("[extra]"),
        "{joined}"
    );
    assert!(
        joined.contains("content/none.md") && joined.contains("+++"),
        "{joined}"
    );
    assert!(
        joined.contains("content/ok.md") && joined.contains("替代文字"),
        "{joined}"
    );
}

#[test]
fn broken_internal_links_name_the_file() {
    let site = TestSite::new(CONFIG);
    site.write(
        "content/a.md",
        "+++\ntitle = \"甲\"\n+++\n[无](@/missing.md) [也无](/nowhere/)\n",
    );
    let problems = site.build().problems();
    assert_eq!(problems.len(), 2, "{problems:?}");
    assert!(problems.iter().all(|p| p.contains("content/a.md")));
}

#[test]
fn shortcodes_summaries_aliases_and_bundles_work_as_in_zola() {
    let site = TestSite::new(CONFIG);
    site.write(
        "templates/shortcodes/note.html",
        "<aside class=\"note\">{{ body | markdown | safe }}</aside>",
    );
    site.write(
        "templates/shortcodes/tel.html",
        "<a href=\"tel:{{ n }}\">{{ n }}</a>",
    );
    site.write(
        "content/help/index.md",
        "+++\ntitle = \"帮助\"\naliases = [\"/q/1/\"]\n+++\n第一段。\n\n<!-- more -->\n\n请拨打 {{ tel(n=\"12333\") }}。\n\n{% note() %}\n**注意：**带材料。\n{% end %}\n\n![示意图](map.png)\n",
    );
    site.write_bytes("content/help/map.png", b"png");
    let built = site.build();
    assert!(built.problems().is_empty(), "{:?}", built.problems());
    let html = built.text("help/index.html");
    assert!(
        html.contains("请拨打 <a href=\"tel:12333\">12333</a>。"),
        "{html}"
    );
    assert!(
        html.contains("<aside class=\"note\"><p><strong>注意：</strong>带材料。</p>\n</aside>"),
        "{html}"
    );
    assert!(built.files.contains_key("help/map.png"));
    let alias = built.text("q/1/index.html");
    assert!(alias.contains("https://example.com/zh/help/"), "{alias}");
    let sitemap = built.text("sitemap.xml");
    assert!(sitemap.contains("<loc>https://example.com/zh/help/</loc>"));
    assert!(built
        .text("robots.txt")
        .contains("Sitemap: https://example.com/zh/sitemap.xml"));
}

#[test]
fn template_functions_find_pages_sections_and_data() {
    let site = TestSite::new(CONFIG);
    site.write(
        "templates/page.html",
        "{% set p = get_page(path=\"b.md\") %}{{ p.title }}|{{ get_url(path=\"@/b.md\") }}|\
         {% set s = get_section(path=\"_index.md\") %}{{ s.pages | length }}|\
         {% set d = load_data(path=\"data/x.toml\") %}{{ d.phone }}|\
         {% set c = load_data(path=\"data/y.csv\") %}{{ c.records[0][1] }}|\
         {{ get_hash(literal=\"a\", sha_type=256, base64=false) | truncate(length=8, end=\"\") }}|{% set t = today() %}{{ t.year > 2000 }}",
    );
    site.write("content/a.md", "+++\ntitle = \"甲\"\n+++\n");
    site.write("content/b.md", "+++\ntitle = \"乙\"\n+++\n");
    site.write("content/data/x.toml", "phone = \"0471-6945364\"\n");
    site.write("content/data/y.csv", "名称,电话\n热线,12333\n");
    let built = site.build();
    assert_eq!(
        built.text("a/index.html"),
        "乙|https://example.com/zh/b/|2|0471-6945364|12333|ca978112|true"
    );
}

#[test]
fn check_catches_unknown_shortcodes_clashing_aliases_and_repeated_anchors() {
    let site = TestSite::new(CONFIG);
    site.write(
        "content/a.md",
        "+++\ntitle = \"甲\"\naliases = [\"/q/1/\"]\n+++\n{{ nosuch(a=1) }}\n",
    );
    site.write(
        "content/b.md",
        "+++\ntitle = \"乙\"\naliases = [\"/q/1/\", \"/a/\"]\n+++\n## 一 {#x}\n\n## 二 {#x}\n",
    );
    let problems = site.build().problems().join("\n");
    assert!(
        problems.contains("content/a.md") && problems.contains("nosuch"),
        "{problems}"
    );
    assert!(problems.contains("`/q/1/`"), "{problems}");
    assert!(problems.contains("`/a/`"), "{problems}");
    assert!(problems.contains("#x"), "{problems}");
}
