//! The department's site, built from the real `content/`: the procedure text is all there,
//! every link resolves, search finds what people type, and the pages carry what a reader
//! of a government site needs.

mod common;

use std::collections::HashSet;
use std::io::Cursor;

use calamine::{Reader, Xlsx};
use common::{all_text_without_space, build_root, repo_root, Built};

fn built() -> &'static Built {
    static BUILT: std::sync::OnceLock<Built> = std::sync::OnceLock::new();
    BUILT.get_or_init(|| build_root(&repo_root().join("site")))
}

fn procedure_text() -> String {
    let shared = repo_root().join("../shared/source/procedure.txt");
    let path = if shared.is_file() {
        shared
    } else {
        repo_root().join("tests/fixtures/procedure.txt")
    };
    std::fs::read_to_string(path).expect("the procedure text")
}

fn html_pages(built: &Built) -> Vec<(String, String)> {
    let mut pages: Vec<_> = built
        .files
        .keys()
        .filter(|k| k.ends_with(".html"))
        .map(|k| (k.clone(), built.text(k)))
        .filter(|(_, html)| !html.contains("http-equiv=\"refresh\""))
        .collect();
    pages.sort();
    pages
}

#[test]
fn the_site_builds_with_no_problems() {
    let problems = built().problems();
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    assert!(html_pages(built()).len() >= 20);
}

#[test]
fn every_paragraph_of_the_procedure_appears_on_the_site() {
    let site_text = all_text_without_space(built());
    let mut missing = Vec::new();
    let mut checked = 0;
    for line in procedure_text().lines() {
        let wanted: String = line.chars().filter(|c| !c.is_whitespace()).collect();
        if wanted.is_empty() {
            continue;
        }
        checked += 1;
        if !site_text.contains(&wanted) {
            missing.push(line.trim().to_string());
        }
    }
    assert!(checked > 60, "only {checked} paragraphs read");
    assert!(
        missing.is_empty(),
        "paragraphs missing from the site:\n{}",
        missing.join("\n")
    );
}

#[test]
fn search_finds_what_people_type() {
    let index: serde_json::Value =
        serde_json::from_str(&built().text("search-index.json")).unwrap();
    let docs: Vec<beian_site::search::Doc> = index["docs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| beian_site::search::Doc {
            u: d["u"].as_str().unwrap().into(),
            t: d["t"].as_str().unwrap().into(),
            d: d["d"].as_str().unwrap().into(),
            b: d["b"].as_str().unwrap().into(),
        })
        .collect();
    let index = beian_site::search::Index {
        lang: "zh-CN".into(),
        docs,
    };
    for term in [
        "入职",
        "身份证",
        "12333",
        "薪酬",
        "组织机构代码电子副本",
        "社区劳动保障平台",
    ] {
        let hits = beian_site::search::query(&index, term);
        assert!(!hits.is_empty(), "search for {term} finds nothing");
    }
    let pay = beian_site::search::query(&index, "年度薪酬");
    assert!(
        pay.iter().take(3).any(|d| d.u.contains("annual-pay")),
        "{:?}",
        pay.iter().map(|d| &d.u).collect::<Vec<_>>()
    );
}

#[test]
fn every_page_has_language_title_skip_link_and_one_heading() {
    let mut titles = HashSet::new();
    for (path, html) in html_pages(built()) {
        assert!(html.contains("<html lang=\"zh-CN\""), "{path}: no lang");
        assert!(html.contains("name=\"viewport\""), "{path}: no viewport");
        assert!(html.contains("href=\"#main\""), "{path}: no skip link");
        assert!(html.contains("id=\"main\""), "{path}: no main landmark");
        assert_eq!(
            html.matches("<h1").count(),
            1,
            "{path}: needs exactly one h1"
        );
        let title = html
            .split("<title>")
            .nth(1)
            .and_then(|t| t.split("</title>").next())
            .unwrap_or("");
        assert!(!title.is_empty(), "{path}: empty title");
        assert!(
            titles.insert(title.to_string()),
            "{path}: title `{title}` is not unique"
        );
        assert!(
            !html.contains("http://") || !html.contains("<script src=\"http"),
            "{path}: external script"
        );
    }
}

#[test]
fn contacts_put_12333_first_with_tel_links() {
    let html = built().text("contact/index.html");
    let main = html.split("id=\"main\"").nth(1).unwrap();
    let tels: Vec<&str> = main
        .split("href=\"tel:")
        .skip(1)
        .map(|s| s.split('"').next().unwrap())
        .collect();
    assert_eq!(tels.first().copied(), Some("12333"), "{tels:?}");
    for number in ["6945364", "6606181", "3255848", "3255891", "3255806"] {
        assert!(
            tels.iter().any(|t| t.contains(number)),
            "no tel: link for {number}: {tels:?}"
        );
    }
    for name in [
        "唐永清",
        "梁伟",
        "人力资源和社会保障厅劳动关系处",
        "自治区劳动信息中心",
    ] {
        assert!(main.contains(name), "{name} missing");
    }
}

#[test]
fn downloads_offer_printable_forms_and_real_spreadsheets_with_type_and_size() {
    let built = built();
    let forms = [
        (
            "downloads/bureau-account/",
            "各盟市和旗县区劳动用工备案软件使用授权及密码申请表",
            "行政区划代码",
        ),
        (
            "downloads/community-account/",
            "社区劳动保障平台劳动用工备案软件使用授权及密码申请表",
            "劳动保障事务所（站）",
        ),
    ];
    for (dir, title, column) in forms {
        let html = built.text(&format!("{dir}index.html"));
        assert!(html.contains(title), "{dir}: title");
        assert!(html.contains("<table"), "{dir}: no printable table");
        let xlsx_path = built
            .files
            .keys()
            .find(|k| k.starts_with(dir) && k.ends_with(".xlsx"))
            .unwrap_or_else(|| panic!("{dir}: no xlsx"));
        let bytes = built.files[xlsx_path].as_ref().clone();
        let size = beian_site::templates::size_text(bytes.len());
        assert!(
            html.contains(&size),
            "{dir}: the page does not show the size {size}"
        );
        assert!(
            html.contains("xlsx") || html.contains("Excel"),
            "{dir}: the page does not show the file type"
        );
        let mut workbook = Xlsx::new(Cursor::new(bytes)).expect("a real xlsx");
        let sheet = workbook.worksheet_range_at(0).unwrap().unwrap();
        let cells: Vec<String> = sheet.cells().map(|(_, _, c)| c.to_string()).collect();
        assert!(
            cells.iter().any(|c| c.contains(title)),
            "{dir}: the sheet lacks its title"
        );
        assert!(
            cells.iter().any(|c| c == column),
            "{dir}: the sheet lacks the column {column}: {cells:?}"
        );
    }
}

#[test]
fn videos_have_speakable_codes_short_links_and_step_lists() {
    let built = built();
    let mut codes = HashSet::new();
    for n in 1..=5 {
        let alias = built.text(&format!("v/{n}/index.html"));
        let target = alias
            .split("url=")
            .nth(1)
            .unwrap()
            .split('"')
            .next()
            .unwrap();
        let page = built.text(&format!("{}index.html", target.trim_start_matches('/')));
        assert!(
            page.contains(&format!("视频 {n}")),
            "{target}: no code 视频 {n}"
        );
        assert!(page.contains("<ol"), "{target}: no written step list");
        assert!(codes.insert(target.to_string()));
    }
}

#[test]
fn faq_answers_are_numbered_with_short_links() {
    let built = built();
    let faq = built.text("faq/index.html");
    for n in 1..=3 {
        assert!(faq.contains(&format!("问题 {n}")), "no 问题 {n}");
        assert!(
            built.files.contains_key(&format!("q/{n}/index.html")),
            "no /q/{n}/"
        );
    }
    let text = all_text_without_space(built);
    for topic in ["登录不成功", "基本信息有误", "12333"] {
        assert!(text.contains(topic), "the FAQ lacks {topic}");
    }
}

#[test]
fn annual_pay_page_shows_the_next_deadline_computed_at_build_time() {
    let today = beian_site::templates::today();
    let year = today["year"].as_i64().unwrap();
    let month = today["month"].as_i64().unwrap();
    let deadline_year = if month <= 3 { year } else { year + 1 };
    let html = built().text("annual-pay/index.html");
    let expected = format!("{deadline_year}年3月31日");
    assert!(
        html.contains(&expected),
        "no {expected} on the annual pay page"
    );
    assert!(html.contains(&format!("{}年12月31日", deadline_year - 1)));
    assert!(html.contains("机关、事业单位不必填报"));
}

#[test]
fn flowcharts_are_svg_with_text_alternatives() {
    let built = built();
    for page in ["guide/online/index.html", "guide/office/index.html"] {
        let html = built.text(page);
        let figure = html
            .split("<svg")
            .nth(1)
            .unwrap_or_else(|| panic!("{page}: no svg"));
        assert!(
            figure.contains("role=\"img\"") && figure.contains("<title"),
            "{page}: svg not labelled"
        );
        let after = figure.split("</svg>").nth(1).unwrap();
        assert!(
            after.contains("<ol"),
            "{page}: no text alternative after the chart"
        );
    }
}

#[test]
fn site_has_sitemap_robots_404_and_search_page() {
    let built = built();
    let sitemap = built.text("sitemap.xml");
    assert!(
        sitemap.contains("<loc>/guide/online/</loc>") || sitemap.contains("/guide/online/</loc>")
    );
    assert!(built.text("robots.txt").contains("Sitemap"));
    assert!(built.text("404.html").contains("12333"));
    let search = built.text("search/index.html");
    assert!(search.contains("search.js") && search.contains("id=\"search-q\""));
}

#[test]
fn the_staff_form_offers_its_spreadsheet_template_with_type_and_size() {
    let built = built();
    let page = built.text("forms/staff-filing/index.html");
    for file in [
        "forms/staff-filing/template.xlsx",
        "forms/staff-filing/template.csv",
    ] {
        let bytes = built.files.get(file).unwrap_or_else(|| panic!("no {file}"));
        assert!(
            page.contains(&format!("href=\"/{file}\"")),
            "no link to {file}"
        );
        assert!(
            page.contains(&beian_site::templates::size_text(bytes.len())),
            "no size for {file}"
        );
    }
    assert!(page.contains("Excel 工作簿") && page.contains("CSV 表格"));
}
