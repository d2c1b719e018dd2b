//! The browser and the server check forms alike: every input below, and every real form in
//! `content/forms/`, goes through `beian_functions::validation::check` and through
//! `site/static/js/forms.js` in Node.js, and both must accept it with the same stored value
//! or reject it with the same messages in the same order.

use std::path::PathBuf;
use std::process::Command;

use beian_functions::forms::{FieldKind, FormDef, Forms};
use beian_functions::submission::Submission;
use beian_functions::validate;
use beian_functions::validation::{self, Outcome};
use chrono::{Datelike, NaiveDate};
use serde_json::{json, Value as Json};

/// A fixed "today", so ID numbers born later are in the future whatever the clock says.
const TODAY: &str = "2026-06-01";

fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("site/ has a parent")
        .to_path_buf()
}

fn today() -> NaiveDate {
    NaiveDate::parse_from_str(TODAY, "%Y-%m-%d").expect("TODAY is a date")
}

/// The server's outcome in the shape `check` in forms.js gives.
fn server_outcome(def: &FormDef, submission: &Json) -> Json {
    let submission: Submission =
        serde_json::from_value(submission.clone()).expect("the case is a valid submission");
    match validation::check(def, &submission, today()) {
        Outcome::Accepted(accepted) => json!({
            "outcome": "accepted",
            "fields": accepted.fields,
            "groups": accepted.groups,
            "warnings": accepted.warnings,
        }),
        Outcome::Rejected(errors) => json!({ "outcome": "rejected", "errors": errors }),
        Outcome::Exempt(message) => json!({ "outcome": "exempt", "message": message }),
    }
}

/// Runs every (definition, submission) pair through forms.js in one Node.js process.
fn browser_outcomes(cases: &[(&FormDef, Json)]) -> Vec<Json> {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let input = dir.path().join("cases.json");
    let divisions: Vec<&str> = validate::divisions().iter().map(|d| d.code).collect();
    let cases: Vec<Json> = cases
        .iter()
        .map(|(def, submission)| json!({ "definition": def, "submission": submission }))
        .collect();
    let data = json!({ "today": TODAY, "divisions": divisions, "cases": cases });
    std::fs::write(&input, data.to_string()).expect("the cases are written");

    let script = repo_root().join("site/static/js/forms.js");
    let program = format!(
        "const forms = require({script:?});\
         const input = JSON.parse(require('fs').readFileSync({input:?}, 'utf8'));\
         const context = {{ today: input.today, divisions: input.divisions }};\
         const out = input.cases.map(c => forms.check(c.definition, c.submission, context));\
         process.stdout.write(JSON.stringify(out));",
        script = script.to_str().expect("a UTF-8 path"),
        input = input.to_str().expect("a UTF-8 path"),
    );
    let out = Command::new("node")
        .args(["-e", &program])
        .output()
        .expect("node is installed (tests/run.sh installs it)");
    assert!(
        out.status.success(),
        "forms.js failed in Node.js: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("forms.js prints JSON")
}

/// Checks every case both ways and fails with each disagreement; gives the server's outcomes.
fn assert_agreement(cases: &[(&FormDef, Json)]) -> Vec<Json> {
    let browser = browser_outcomes(cases);
    assert_eq!(browser.len(), cases.len());
    let mut server = Vec::new();
    let mut disagreements = Vec::new();
    for ((def, submission), in_browser) in cases.iter().zip(browser) {
        let on_server = server_outcome(def, submission);
        if on_server != in_browser {
            disagreements.push(format!(
                "form `{}`, submission {submission}\n  server:  {on_server}\n  browser: {in_browser}",
                def.id
            ));
        }
        server.push(on_server);
    }
    assert!(
        disagreements.is_empty(),
        "{} of {} cases disagree:\n{}",
        disagreements.len(),
        cases.len(),
        disagreements.join("\n")
    );
    server
}

// ---------------------------------------------------------------------------------------------
// One field at a time
// ---------------------------------------------------------------------------------------------

/// A form with one optional field per kind (and some with limits): a case fills in one field,
/// and the outcome is that field's alone, with its stored value when it is accepted.
const FIELD_TABLE_FORM: &str = r#"
id = "field-table"
title = "核对用表"
version = 1
audience = "public"

[privacy]
purpose = "测试"
retention = "不保存"
contact = "无"

[[fieldsets]]
title = "各类栏目"
fields = [
  { key = "text", label = "单位简称", type = "text", max_length = 10 },
  { key = "long_text", label = "经营地址", type = "text" },
  { key = "textarea", label = "备注", type = "textarea" },
  { key = "name", label = "姓名", type = "name" },
  { key = "select", label = "单位类型", type = "select", options = ["企业", "机关", "事业单位"] },
  { key = "radio", label = "性别", type = "radio", options = ["男", "女"] },
  { key = "checkboxes", label = "参加的保险", type = "checkboxes", options = ["养老保险", "医疗保险", "失业保险"] },
  { key = "date", label = "合同起始日期", type = "date" },
  { key = "id_number", label = "公民身份号码", type = "id_number" },
  { key = "credit_code", label = "统一社会信用代码", type = "credit_code" },
  { key = "org_code", label = "组织机构代码", type = "org_code" },
  { key = "unit_code", label = "单位代码", type = "unit_code" },
  { key = "mobile", label = "手机号码", type = "mobile" },
  { key = "landline", label = "办公电话", type = "landline" },
  { key = "phone", label = "联系电话", type = "phone" },
  { key = "postcode", label = "邮政编码", type = "postcode" },
  { key = "division_code", label = "所在地行政区划代码", type = "division_code" },
  { key = "email", label = "电子邮箱", type = "email" },
  { key = "integer", label = "人数", type = "integer" },
  { key = "headcount", label = "在岗职工人数", type = "integer", min = 0, max = 100 },
  { key = "year", label = "填报年度", type = "integer", min = 2012 },
  { key = "months", label = "经营月数", type = "integer", max = 12 },
  { key = "money", label = "工资总额（元）", type = "money_yuan" },
  { key = "wage", label = "月工资（元）", type = "money_yuan", min = 1000, max = 50000 },
]
"#;

/// A form of required fields only, for what is said when one is left empty.
const REQUIRED_TABLE_FORM: &str = r#"
id = "required-table"
title = "必填核对用表"
version = 1
audience = "public"

[privacy]
purpose = "测试"
retention = "不保存"
contact = "无"

[[fieldsets]]
title = "必填栏目"
fields = [
  { key = "required_text", label = "单位名称", type = "text", required = true },
  { key = "required_name", label = "联系人", type = "name", required = true },
  { key = "required_radio", label = "户口性质", type = "radio", options = ["城镇", "农村"], required = true },
  { key = "required_checkboxes", label = "用工形式", type = "checkboxes", options = ["全日制", "非全日制"], required = true },
]
"#;

/// What the server must make of an input: the value it stores, or a part of its message.
type Expected = Result<&'static str, &'static str>;

/// Inputs per field kind: the worked examples of domain.md, what spreadsheets and input
/// methods do to values, and the edges of each rule.
#[rustfmt::skip]
const FIELD_CASES: &[(&str, &str, Expected)] = &[
    // 公民身份号码
    ("id_number", "150102198503159994", Ok("150102198503159994")),
    ("id_number", "150203199207089983", Ok("150203199207089983")),
    ("id_number", "15060219900101990X", Ok("15060219900101990X")),
    ("id_number", "15060219900101990x", Ok("15060219900101990X")),
    ("id_number", "１５０１０２１９８５０３１５９９９４", Ok("150102198503159994")),
    ("id_number", " 150102 19850315 9994\u{3000}", Ok("150102198503159994")),
    ("id_number", "\u{FEFF}150102198503159994\u{200B}", Ok("150102198503159994")),
    ("id_number", "'150102198503159994", Ok("150102198503159994")),
    ("id_number", "150102850315999", Ok("150102198503159994")),
    ("id_number", "150102198503159990", Err("校验码")),
    ("id_number", "150102198502309997", Err("不是有效的日期")),
    ("id_number", "150102198513019995", Err("不是有效的日期")),
    ("id_number", "150102198503159000", Err("000")),
    ("id_number", "1.50102E+17", Err("科学计数法")),
    ("id_number", "1.50102e+17", Err("科学计数法")),
    ("id_number", "1.5E17", Err("科学计数法")),
    ("id_number", "15010219850315999", Err("现在是 17 位")),
    ("id_number", "1501021985031599941", Err("现在是 19 位")),
    ("id_number", "990102198503159994", Err("省级地区代码")),
    ("id_number", "150102203001019997", Err("晚于今天")),
    ("id_number", "150102189912319994", Err("早于 1900 年")),
    ("id_number", "15010219850315999A", Err("前 17 位只能是数字")),
    ("id_number", "1501021985031599９Ｘ", Err("校验码")),
    ("id_number", "15010285031599X", Err("15 位旧号码")),
    ("id_number", "身份证号码", Err("现在是 5 位")),
    ("id_number", "15010219850315999\u{301}", Err("前 17 位只能是数字")),
    // 统一社会信用代码
    ("credit_code", "91150100MA0R1B2C8F", Ok("91150100MA0R1B2C8F")),
    ("credit_code", "12150000001234562C", Ok("12150000001234562C")),
    ("credit_code", "51152502MJ1A2B3C9E", Ok("51152502MJ1A2B3C9E")),
    ("credit_code", "91150100ma0r1b2c8f", Ok("91150100MA0R1B2C8F")),
    ("credit_code", "９１１５０１００ＭＡ０Ｒ１Ｂ２Ｃ８Ｆ", Ok("91150100MA0R1B2C8F")),
    ("credit_code", " 9115 0100 MA0R 1B2C 8F\u{A0}", Ok("91150100MA0R1B2C8F")),
    ("credit_code", "91150100MA0R1B2C8A", Err("第 18 位校验码")),
    ("credit_code", "9115O100MA0R1B2C8F", Err("可能应为数字 0")),
    ("credit_code", "9115I100MA0R1B2C8F", Err("可能应为数字 1")),
    ("credit_code", "9115S100MA0R1B2C8F", Err("可能应为数字 5")),
    ("credit_code", "9115Z100MA0R1B2C8F", Err("可能应为数字 2")),
    ("credit_code", "9115V100MA0R1B2C8F", Err("U 或 Y")),
    ("credit_code", "9115#100MA0R1B2C8F", Err("第 5 位只能是数字或大写字母")),
    ("credit_code", "9115中100MA0R1B2C8F", Err("第 5 位只能是数字或大写字母")),
    ("credit_code", "91150100MA0R1B2C8", Err("现在是 17 位")),
    ("credit_code", "91150100-MA0R1B2C8F", Err("现在是 19 位")),
    // 组织机构代码
    ("org_code", "MA0R1B2C-8", Ok("MA0R1B2C8")),
    ("org_code", "MA0R1B2C8", Ok("MA0R1B2C8")),
    ("org_code", "J1L2P304-X", Ok("J1L2P304X")),
    ("org_code", "J1L2P309-0", Ok("J1L2P3090")),
    ("org_code", "ma0r1b2c-8", Ok("MA0R1B2C8")),
    ("org_code", "ＭＡ０Ｒ１Ｂ２Ｃ－８", Ok("MA0R1B2C8")),
    ("org_code", "MA0R1B2C\u{2014}8", Ok("MA0R1B2C8")),
    ("org_code", "MA0R1B2C-1", Err("校验码")),
    ("org_code", "MA0R1B2-8", Err("现在是 8 位")),
    ("org_code", "MA0R1B2C-89", Err("现在是 10 位")),
    ("org_code", "MA0R1B2#-8", Err("第 8 位只能是数字或大写字母")),
    ("org_code", "MA0R1B2C-中", Err("校验码")),
    // 单位代码: either of the two
    ("unit_code", "91150100MA0R1B2C8F", Ok("91150100MA0R1B2C8F")),
    ("unit_code", "MA0R1B2C-8", Ok("MA0R1B2C8")),
    ("unit_code", "j1l2p304-x", Ok("J1L2P304X")),
    ("unit_code", "91150100-MA0R1B2C8F", Ok("91150100MA0R1B2C8F")),
    ("unit_code", "91150100MA0R1B2C8A", Err("第 18 位校验码")),
    ("unit_code", "MA0R1B2C-1", Err("校验码")),
    ("unit_code", "12345", Err("现在是 5 位")),
    ("unit_code", "9115O100MA0R1B2C8F", Err("可能应为数字 0")),
    // 手机
    ("mobile", "13800000000", Ok("13800000000")),
    ("mobile", "138 0000 0000", Ok("13800000000")),
    ("mobile", "138-0000-0000", Ok("13800000000")),
    ("mobile", "+86 138 0000 0000", Ok("13800000000")),
    ("mobile", "008613800000000", Ok("13800000000")),
    ("mobile", "＋８６ １３８００００００００", Ok("13800000000")),
    ("mobile", "19912345678", Ok("19912345678")),
    ("mobile", "1380000000", Err("现在是 10 位")),
    ("mobile", "138000000000", Err("现在是 12 位")),
    ("mobile", "12800000000", Err("13 至 19 开头")),
    ("mobile", "23800000000", Err("13 至 19 开头")),
    ("mobile", "1380000000a", Err("只能由数字组成")),
    ("mobile", "(138)00000000", Err("只能由数字组成")),
    ("mobile", "+86", Err("不能为空")),
    // 固定电话
    ("landline", "（0471）6945364", Ok("0471-6945364")),
    ("landline", "(0471)6945364", Ok("0471-6945364")),
    ("landline", "0471-6945364", Ok("0471-6945364")),
    ("landline", "0471 6945364", Ok("0471-6945364")),
    ("landline", "04716945364", Ok("0471-6945364")),
    ("landline", "0471 6945364转8001", Ok("0471-6945364-8001")),
    ("landline", "0471-6945364-8001", Ok("0471-6945364-8001")),
    ("landline", "0471-6945364分机12", Ok("0471-6945364-12")),
    ("landline", "０４７１－６９４５３６４", Ok("0471-6945364")),
    ("landline", "0471\u{2014}6945364", Ok("0471-6945364")),
    ("landline", "010-62345678", Ok("010-62345678")),
    ("landline", "01062345678", Ok("010-62345678")),
    ("landline", "02162345678", Ok("021-62345678")),
    ("landline", "0482 8226000", Ok("0482-8226000")),
    ("landline", "4716945364", Err("区号应以 0 开头")),
    ("landline", "6945364", Err("缺少区号")),
    ("landline", "13800000000", Err("这是手机号码")),
    ("landline", "+86 471 6945364", Err("+86")),
    ("landline", "0471-6945364 ext 1", Err("只能填写数字")),
    ("landline", "0471-694536", Err("区号-号码")),
    ("landline", "0471-0945364", Err("区号-号码")),
    ("landline", "0471-6945364转", Err("区号-号码")),
    ("landline", "0471-6945364转1234567", Err("区号-号码")),
    ("landline", "0471-6945364转+1", Err("+86")),
    ("landline", "00471-6945364", Err("区号-号码")),
    ("landline", "0471-6945364-1234567", Err("区号-号码")),
    ("landline", "-", Err("不能为空")),
    // 手机或固定电话
    ("phone", "13800000000", Ok("13800000000")),
    ("phone", "+8613800000000", Ok("13800000000")),
    ("phone", "0471-6945364", Ok("0471-6945364")),
    ("phone", "（0471）6945364", Ok("0471-6945364")),
    ("phone", "0471 6945364转8001", Ok("0471-6945364-8001")),
    ("phone", "1380000000", Err("现在是 10 位")),
    ("phone", "4716945364", Err("区号应以 0 开头")),
    ("phone", "6945364", Err("缺少区号")),
    // 邮政编码
    ("postcode", "010000", Ok("010000")),
    ("postcode", "０１４０１０", Ok("014010")),
    ("postcode", "010 050", Ok("010050")),
    ("postcode", "750300", Ok("750300")),
    ("postcode", "100000", Ok("100000")),
    ("postcode", "030000", Ok("030000")),
    ("postcode", "10000", Err("开头的 0")),
    ("postcode", "0100000", Err("现在是 7 位")),
    ("postcode", "01000a", Err("6 位数字")),
    ("postcode", "010-000", Err("6 位数字")),
    // 行政区划代码
    ("division_code", "150102", Ok("150102")),
    ("division_code", " 152900 ", Ok("152900")),
    ("division_code", "１５０１０２", Ok("150102")),
    ("division_code", "150000", Ok("150000")),
    ("division_code", "150199", Err("没有这个代码")),
    ("division_code", "110101", Err("没有这个代码")),
    ("division_code", "15010", Err("6 位数字")),
    ("division_code", "15010a", Err("6 位数字")),
    // 日期
    ("date", "2024-01-01", Ok("2024-01-01")),
    ("date", "2024/1/1", Ok("2024-01-01")),
    ("date", "2024.1.1", Ok("2024-01-01")),
    ("date", "2024年1月1日", Ok("2024-01-01")),
    ("date", "2024年1月1", Ok("2024-01-01")),
    ("date", "20240101", Ok("2024-01-01")),
    ("date", "２０２４年１月３１日", Ok("2024-01-31")),
    ("date", "２０２４－０１－３１", Ok("2024-01-31")),
    ("date", " 2024-02-29\u{A0}", Ok("2024-02-29")),
    ("date", "2000-02-29", Ok("2000-02-29")),
    ("date", "2024 年 12 月 31 日", Ok("2024-12-31")),
    ("date", "2024年2月30日", Err("2 月没有 30 日")),
    ("date", "2023-02-29", Err("2023 年不是闰年")),
    ("date", "1900-02-29", Err("1900 年不是闰年")),
    ("date", "2024-04-31", Err("4 月没有 31 日")),
    ("date", "2024-01-00", Err("1 月没有 0 日")),
    ("date", "2024-13-01", Err("月份")),
    ("date", "2024-00-10", Err("月份")),
    ("date", "1899-12-31", Err("年份")),
    ("date", "2101-01-01", Err("年份")),
    ("date", "24-1-1", Err("格式")),
    ("date", "2024-1-1-1", Err("格式")),
    ("date", "2024+01+01", Err("格式")),
    ("date", "2024-001-01", Err("格式")),
    ("date", "45292", Err("格式")),
    ("date", "2024年1月1日日", Err("格式")),
    // 电子邮箱
    ("email", "Zhang.San@Example.COM", Ok("Zhang.San@example.com")),
    ("email", "", Ok("")),
    ("email", " hr-office+beian@nm.gov.cn ", Ok("hr-office+beian@nm.gov.cn")),
    ("email", "name＠qq。com", Ok("name@qq.com")),
    ("email", "ldgx@example.xn--fiqs8s", Ok("ldgx@example.xn--fiqs8s")),
    ("email", "name.example.com", Err("缺少 @")),
    ("email", "a@b@example.com", Err("只能有一个 @")),
    ("email", ".name@example.com", Err("@ 前面")),
    ("email", "na..me@example.com", Err("@ 前面")),
    ("email", "name@example", Err("域名")),
    ("email", "name@-example.com", Err("域名")),
    ("email", "name@example.c0m", Err("域名")),
    ("email", "张三@example.com", Err("中文")),
    // 整数
    ("integer", "1,234", Ok("1234")),
    ("integer", "1，234", Ok("1234")),
    ("integer", "１２", Ok("12")),
    ("integer", " 12 ", Ok("12")),
    ("integer", "-5", Ok("-5")),
    ("integer", "+7", Ok("7")),
    ("integer", "007", Ok("7")),
    ("integer", "-0", Ok("0")),
    ("integer", "1,234,567", Ok("1234567")),
    ("integer", "9223372036854775807", Ok("9223372036854775807")),
    ("integer", "-9223372036854775807", Ok("-9223372036854775807")),
    ("integer", "150102198503159994", Ok("150102198503159994")),
    ("integer", "12.5", Err("整数")),
    ("integer", "12.0", Err("整数")),
    ("integer", "12人", Err("阿拉伯数字")),
    ("integer", "1.2E+3", Err("阿拉伯数字")),
    ("integer", "-", Err("阿拉伯数字")),
    ("integer", "1,23", Err("逗号")),
    ("integer", "12,3456", Err("逗号")),
    ("integer", ",123", Err("逗号")),
    ("integer", "9223372036854775808", Err("太大")),
    ("integer", "-9223372036854775808", Err("太大")),
    ("headcount", "0", Ok("0")),
    ("headcount", "100", Ok("100")),
    ("headcount", "-1", Err("0 到 100")),
    ("headcount", "101", Err("0 到 100")),
    ("year", "2025", Ok("2025")),
    ("year", "2011", Err("不能小于 2012")),
    ("months", "12", Ok("12")),
    ("months", "13", Err("不能大于 12")),
    // 金额
    ("money", "12,000", Ok("12000")),
    ("money", "12000元", Ok("12000")),
    ("money", "12000.00", Ok("12000")),
    ("money", "12000.", Ok("12000")),
    ("money", "￥12,000.00元", Ok("12000")),
    ("money", "¥12000", Ok("12000")),
    ("money", "１２０００", Ok("12000")),
    ("money", "0", Ok("0")),
    ("money", "-0", Ok("0")),
    ("money", "10000000000000", Ok("10000000000000")),
    ("money", "12000.5", Err("整数元")),
    ("money", "12000.05", Err("整数元")),
    ("money", "-1", Err("负数")),
    ("money", "10000000000001", Err("上限")),
    ("money", "99999999999999999999", Err("上限")),
    ("money", "1.2万", Err("不要用「万」")),
    ("money", "1.2万元", Err("不要用「万」")),
    ("money", "一万二", Err("数字金额")),
    ("money", "12,00", Err("逗号")),
    ("wage", "6500", Ok("6500")),
    ("wage", "6,500元", Ok("6500")),
    ("wage", "999", Err("超出允许的范围")),
    ("wage", "50001", Err("超出允许的范围")),
    // 姓名
    ("name", "张三", Ok("张三")),
    ("name", " 欧阳娜娜\u{3000}", Ok("欧阳娜娜")),
    ("name", "阿依古丽•买买提", Ok("阿依古丽·买买提")),
    ("name", "阿依古丽・买买提", Ok("阿依古丽·买买提")),
    ("name", "阿依古丽‧买买提", Ok("阿依古丽·买买提")),
    ("name", "阿依古丽．买买提", Ok("阿依古丽·买买提")),
    ("name", "阿依古丽.买买提", Ok("阿依古丽·买买提")),
    ("name", "A. Smith", Ok("A. Smith")),
    ("name", "阿..买", Ok("阿..买")),
    ("name", "\u{F900}三", Ok("\u{F900}三")),
    ("name", "𠀀𠀁", Ok("𠀀𠀁")),
    ("name", "张三1", Err("不能包含数字")),
    ("name", "张三１", Err("不能包含数字")),
    ("name", "·张三", Err("间隔号")),
    ("name", "张三•", Err("间隔号")),
    ("name", "张\u{7}三", Err("控制字符")),
    // 文字
    ("text", "内蒙古某某科技", Ok("内蒙古某某科技")),
    ("text", " 呼和浩特 \u{A0}", Ok("呼和浩特")),
    ("text", "一二三四五六七八九十", Ok("一二三四五六七八九十")),
    ("text", "一二三四五六七八九十一", Err("最多 10 个字，现在有 11 个")),
    ("text", "ＡＢＣ", Ok("ＡＢＣ")),
    ("text", "a\tb", Ok("a\tb")),
    ("text", "a\u{1}b", Err("控制字符")),
    ("textarea", "第一行\n第二行", Ok("第一行\n第二行")),
    ("textarea", "a\u{0}b", Err("控制字符")),
    // 选择
    ("select", "企业", Ok("企业")),
    ("select", " 企业\u{3000}", Ok("企业")),
    ("select", "公司", Err("不是可选的项")),
    ("radio", "男", Ok("男")),
    ("radio", "M", Err("不是可选的项")),
    // 留空
    ("required_text", "", Err("请填写单位名称")),
    ("required_text", " \u{3000}\u{A0}\u{FEFF}\t", Err("请填写单位名称")),
    ("required_radio", "", Err("请选择户口性质")),
    ("required_radio", "城镇", Ok("")),
    ("required_name", "\u{3000}", Err("请填写联系人")),
    ("required_name", "王芳", Ok("")),
    ("id_number", "   ", Ok("")),
];

/// Inputs whose size is easier to build than to write out.
fn generated_cases() -> Vec<(&'static str, String, Expected)> {
    vec![
        ("name", "木".repeat(60), Ok("")),
        ("name", "木".repeat(61), Err("现在有 61 个")),
        // Characters outside the BMP count once, not as two UTF-16 units.
        ("name", "𠀀".repeat(60), Ok("")),
        ("name", "𠀀".repeat(61), Err("现在有 61 个")),
        ("text", "𠀀".repeat(10), Ok("")),
        ("long_text", "字".repeat(200), Ok("")),
        ("long_text", "字".repeat(201), Err("最多 200 个字")),
        ("textarea", "字".repeat(2001), Err("最多 2000 个字")),
        (
            "email",
            format!("{}@example.com", "a".repeat(65)),
            Err("@ 前面"),
        ),
        ("email", format!("a@{}.com", "b".repeat(250)), Err("域名")),
    ]
}

/// Values that are lists (check boxes) or that a one-value field cannot take.
fn list_cases() -> Vec<(&'static str, Json, Expected)> {
    vec![
        ("checkboxes", json!(["养老保险", "医疗保险"]), Ok("")),
        ("checkboxes", json!(["养老保险", " 养老保险 ", ""]), Ok("")),
        ("checkboxes", json!([]), Ok("")),
        ("checkboxes", json!(["工伤保险"]), Err("不是可选的项")),
        ("checkboxes", json!("养老保险"), Err("请从选项中勾选")),
        ("required_checkboxes", json!([]), Err("请选择用工形式")),
        ("required_checkboxes", json!([" "]), Err("请选择用工形式")),
        ("text", json!(["甲", "乙"]), Err("只能填一个值")),
    ]
}

#[test]
fn browser_and_server_agree_on_every_field_input() {
    let optional = FormDef::parse(FIELD_TABLE_FORM).expect("the table form parses");
    let required = FormDef::parse(REQUIRED_TABLE_FORM).expect("the required form parses");
    let def_for = |key: &str| {
        if required.field(key).is_some() {
            &required
        } else {
            &optional
        }
    };
    let mut table: Vec<(String, Json, Expected)> = FIELD_CASES
        .iter()
        .map(|(key, input, expected)| (key.to_string(), json!(input), *expected))
        .collect();
    table.extend(
        generated_cases()
            .into_iter()
            .map(|(key, input, expected)| (key.to_string(), json!(input), expected)),
    );
    table.extend(
        list_cases()
            .into_iter()
            .map(|(key, input, expected)| (key.to_string(), input, expected)),
    );
    // Every kind of field is in the table, so a new kind cannot go unchecked.
    for field in optional.fields().chain(required.fields()) {
        assert!(
            table.iter().any(|(key, _, _)| *key == field.key),
            "no case fills in `{}`",
            field.key
        );
    }

    let cases: Vec<(&FormDef, Json)> = table
        .iter()
        .map(|(key, input, _)| (def_for(key), json!({ "fields": { key.as_str(): input } })))
        .collect();
    let outcomes = assert_agreement(&cases);

    // In the required form the other fields, left empty, are reported too: each case is judged
    // by its own field.
    for ((key, input, expected), outcome) in table.iter().zip(&outcomes) {
        let own_error = outcome["errors"]
            .as_array()
            .and_then(|errors| errors.iter().find(|e| e["field"] == key.as_str()))
            .and_then(|e| e["message"].as_str());
        let stored = &outcome["fields"][key];
        match (expected, own_error) {
            (Ok(""), None) => {}
            (Ok(value), None) if stored == value => {}
            (Err(fragment), Some(message)) if message.contains(fragment) => {}
            _ => panic!("{key} {input}: expected {expected:?}, got {outcome}"),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Rules across fields and group rows
// ---------------------------------------------------------------------------------------------

/// A form with a repeatable group and one rule of each kind.
const RULES_FORM: &str = r#"
id = "rule-table"
title = "规则核对用表"
version = 1
audience = "public"

[privacy]
purpose = "测试"
retention = "不保存"
contact = "无"

[[rules]]
kind = "exempt_if"
field = "unit_type"
values = ["机关", "事业单位"]
message = "机关、事业单位不必填报。"

[[rules]]
kind = "sum_equals"
total = "total"
parts = ["male", "female"]

[[rules]]
kind = "date_order"
start = "period_start"
end = "period_end"

[[rules]]
kind = "date_order"
group = "staff"
start = "contract_start"
end = "contract_end"

[[rules]]
kind = "id_matches"
group = "staff"
id = "id_number"
sex = "sex"
birth = "birth_date"

[[rules]]
kind = "required_if"
group = "staff"
field = "contract_end"
when = "contract_type"
equals = ["固定期限"]

[[rules]]
kind = "required_if"
group = "staff"
field = "end_reason"
when = "filing_type"
equals = ["终止", "解除"]

[[fieldsets]]
title = "用人单位"
fields = [
  { key = "unit_type", label = "单位类型", type = "select", required = true, options = ["企业", "机关", "事业单位"] },
  { key = "total", label = "在册职工人数", type = "integer", min = 0 },
  { key = "male", label = "男职工人数", type = "integer", min = 0 },
  { key = "female", label = "女职工人数", type = "integer", min = 0 },
  { key = "period_start", label = "起始日期", type = "date" },
  { key = "period_end", label = "截止日期", type = "date" },
]

[[groups]]
key = "staff"
title = "职工"
row_label = "职工"
min_rows = 1
max_rows = 3
fields = [
  { key = "name", label = "姓名", type = "name", required = true },
  { key = "id_number", label = "公民身份号码", type = "id_number", required = true },
  { key = "sex", label = "性别", type = "radio", options = ["男", "女"] },
  { key = "birth_date", label = "出生日期", type = "date" },
  { key = "contract_type", label = "合同类型", type = "select", options = ["固定期限", "无固定期限"] },
  { key = "contract_start", label = "合同起始日期", type = "date" },
  { key = "contract_end", label = "合同终止日期", type = "date" },
  { key = "filing_type", label = "备案类型", type = "select", options = ["新签", "终止", "解除"] },
  { key = "end_reason", label = "终止（解除）原因", type = "text" },
]
"#;

/// A row that passes every rule; cases change one value at a time.
fn good_row() -> Json {
    json!({
        "name": "张三",
        "id_number": "150102198503159994",
        "sex": "男",
        "birth_date": "1985-03-15",
        "contract_type": "固定期限",
        "contract_start": "2025-01-01",
        "contract_end": "2027-12-31",
        "filing_type": "新签",
        "end_reason": "",
    })
}

fn row_with(changes: Json) -> Json {
    let mut row = good_row();
    for (key, value) in changes.as_object().expect("changes are an object") {
        row[key] = value.clone();
    }
    row
}

fn blank_row() -> Json {
    json!({ "name": "", "id_number": " ", "sex": "", "end_reason": "\u{3000}" })
}

fn unit(changes: Json) -> Json {
    let mut fields = json!({ "unit_type": "企业", "total": "30", "male": "18", "female": "12" });
    for (key, value) in changes.as_object().expect("changes are an object") {
        fields[key] = value.clone();
    }
    fields
}

/// Submissions across fields, each with the outcome and a part of the first message expected.
fn rule_cases() -> Vec<(Json, &'static str, &'static str)> {
    let submission =
        |fields: Json, rows: Vec<Json>| json!({ "fields": fields, "groups": { "staff": rows } });
    vec![
        (
            submission(unit(json!({})), vec![good_row()]),
            "accepted",
            "",
        ),
        (
            submission(
                unit(json!({})),
                vec![good_row(), row_with(json!({ "name": "李四" }))],
            ),
            "accepted",
            "",
        ),
        (
            submission(unit(json!({ "total": "31" })), vec![good_row()]),
            "rejected",
            "之和（30），现在是 31",
        ),
        (
            submission(unit(json!({ "male": "" })), vec![good_row()]),
            "accepted",
            "",
        ),
        (
            submission(
                unit(json!({ "total": "１,０３０", "male": "1,018", "female": "12" })),
                vec![good_row()],
            ),
            "accepted",
            "",
        ),
        (
            submission(
                unit(json!({ "period_start": "2025-03-01", "period_end": "2025年2月1日" })),
                vec![good_row()],
            ),
            "rejected",
            "不能早于起始日期（2025-03-01）",
        ),
        (
            submission(
                unit(json!({ "period_start": "2025-03-01", "period_end": "2025-03-01" })),
                vec![good_row()],
            ),
            "accepted",
            "",
        ),
        (
            submission(
                unit(json!({})),
                vec![row_with(json!({ "contract_end": "2024-12-31" }))],
            ),
            "rejected",
            "不能早于合同起始日期",
        ),
        (
            submission(unit(json!({})), vec![row_with(json!({ "sex": "女" }))]),
            "rejected",
            "按号码应为男",
        ),
        (
            submission(
                unit(json!({})),
                vec![row_with(json!({ "birth_date": "1985-05-13" }))],
            ),
            "rejected",
            "出生日期与公民身份号码",
        ),
        (
            submission(
                unit(json!({})),
                vec![row_with(json!({ "sex": "女", "birth_date": "1985-05-13" }))],
            ),
            "rejected",
            "性别与公民身份号码不一致",
        ),
        (
            submission(
                unit(json!({})),
                vec![row_with(
                    json!({ "id_number": "150203199207089983", "sex": "女", "birth_date": "1992年7月8日" }),
                )],
            ),
            "accepted",
            "",
        ),
        (
            submission(
                unit(json!({})),
                vec![row_with(
                    json!({ "id_number": "150102850315999", "sex": "男" }),
                )],
            ),
            "accepted",
            "",
        ),
        (
            submission(
                unit(json!({})),
                vec![row_with(
                    json!({ "id_number": "150102198503159990", "sex": "女" }),
                )],
            ),
            "rejected",
            "校验码",
        ),
        (
            submission(
                unit(json!({})),
                vec![row_with(json!({ "birth_date": "1985-02-30" }))],
            ),
            "rejected",
            "2 月没有 30 日",
        ),
        (
            submission(
                unit(json!({})),
                vec![row_with(json!({ "contract_end": "" }))],
            ),
            "rejected",
            "选择“固定期限”时必须填写合同终止日期",
        ),
        (
            submission(
                unit(json!({})),
                vec![row_with(
                    json!({ "contract_type": "无固定期限", "contract_end": "" }),
                )],
            ),
            "accepted",
            "",
        ),
        (
            submission(
                unit(json!({})),
                vec![good_row(), row_with(json!({ "filing_type": "解除" }))],
            ),
            "rejected",
            "选择“解除”时必须填写终止（解除）原因",
        ),
        (
            submission(
                unit(json!({})),
                vec![row_with(
                    json!({ "filing_type": "终止", "end_reason": "合同期满" }),
                )],
            ),
            "accepted",
            "",
        ),
        // A blank row is dropped; the next row keeps its name but is counted as the second.
        (
            submission(
                unit(json!({})),
                vec![good_row(), blank_row(), row_with(json!({ "sex": "女" }))],
            ),
            "rejected",
            "按号码应为男",
        ),
        (
            submission(
                unit(json!({})),
                vec![blank_row(), row_with(json!({ "name": "张3" }))],
            ),
            "rejected",
            "不能包含数字",
        ),
        (
            submission(unit(json!({})), vec![]),
            "rejected",
            "至少要填写 1 个职工",
        ),
        (
            submission(unit(json!({})), vec![blank_row()]),
            "rejected",
            "至少要填写 1 个职工",
        ),
        (
            submission(
                unit(json!({})),
                vec![good_row(), good_row(), good_row(), good_row()],
            ),
            "rejected",
            "最多填写 3 个职工",
        ),
        (
            submission(
                unit(json!({ "unit_type": "" })),
                vec![row_with(json!({ "name": "" , "sex": "女" }))],
            ),
            "rejected",
            "请选择单位类型",
        ),
        // Exempt units are told so whatever else is wrong.
        (
            submission(unit(json!({ "unit_type": "机关", "total": "x" })), vec![]),
            "exempt",
            "不必填报",
        ),
        (
            submission(unit(json!({ "unit_type": " 事业单位 " })), vec![good_row()]),
            "exempt",
            "不必填报",
        ),
    ]
}

#[test]
fn browser_and_server_agree_on_rules_across_fields() {
    let def = FormDef::parse(RULES_FORM).expect("the rule form parses");
    let table = rule_cases();
    let cases: Vec<(&FormDef, Json)> = table.iter().map(|(s, _, _)| (&def, s.clone())).collect();
    let outcomes = assert_agreement(&cases);

    for ((submission, expected, fragment), outcome) in table.iter().zip(&outcomes) {
        assert_eq!(outcome["outcome"], *expected, "{submission}: {outcome}");
        let first = match *expected {
            "rejected" => outcome["errors"][0]["message"].as_str(),
            "exempt" => outcome["message"].as_str(),
            _ => Some(""),
        };
        assert!(
            first.unwrap_or("").contains(fragment),
            "{submission}: {outcome}"
        );
    }
}

#[test]
fn errors_in_later_rows_name_the_row_as_the_page_shows_it() {
    let def = FormDef::parse(RULES_FORM).expect("the rule form parses");
    let submission = json!({
        "fields": { "unit_type": "企业" },
        "groups": { "staff": [good_row(), blank_row(), row_with(json!({ "sex": "女" }))] },
    });
    let outcomes = assert_agreement(&[(&def, submission)]);
    assert_eq!(
        outcomes[0]["errors"],
        json!([{
            "field": "staff[2].sex",
            "label": "第 2 个职工：性别",
            "message": "性别与公民身份号码不一致：按号码应为男，请核对性别或号码",
        }])
    );
}

// ---------------------------------------------------------------------------------------------
// The real forms
// ---------------------------------------------------------------------------------------------

fn real_forms() -> Forms {
    let forms = Forms::load_dir(&repo_root().join("content/forms")).expect("content/forms loads");
    assert!(!forms.by_id.is_empty(), "content/forms has no definitions");
    forms
}

fn example(kind: FieldKind, text: &str) -> Json {
    if kind == FieldKind::Checkboxes {
        json!(text.split('、').collect::<Vec<_>>())
    } else {
        json!(text)
    }
}

/// A submission with every field's example, and one group row of examples per group.
fn filled_with_examples(def: &FormDef) -> Json {
    let fields: serde_json::Map<String, Json> = def
        .fields()
        .filter_map(|f| {
            f.example
                .as_deref()
                .map(|e| (f.key.clone(), example(f.kind, e)))
        })
        .collect();
    let groups: serde_json::Map<String, Json> = def
        .groups
        .iter()
        .map(|g| {
            let row: serde_json::Map<String, Json> = g
                .fields
                .iter()
                .filter_map(|f| {
                    f.example
                        .as_deref()
                        .map(|e| (f.key.clone(), example(f.kind, e)))
                })
                .collect();
            (g.key.clone(), json!(vec![row; g.min_rows.max(1)]))
        })
        .collect();
    json!({ "fields": fields, "groups": groups })
}

#[test]
fn browser_and_server_accept_every_real_form_filled_with_its_examples() {
    let forms = real_forms();
    let cases: Vec<(&FormDef, Json)> = forms
        .by_id
        .values()
        .map(|def| (def, filled_with_examples(def)))
        .collect();
    let outcomes = assert_agreement(&cases);
    for ((def, _), outcome) in cases.iter().zip(&outcomes) {
        assert_eq!(
            outcome["outcome"], "accepted",
            "form `{}`: {outcome}",
            def.id
        );
    }
}

#[test]
fn browser_and_server_list_the_same_errors_for_every_empty_real_form() {
    let forms = real_forms();
    let cases: Vec<(&FormDef, Json)> = forms
        .by_id
        .values()
        .map(|def| (def, json!({ "fields": {}, "groups": {} })))
        .collect();
    let outcomes = assert_agreement(&cases);
    for ((def, _), outcome) in cases.iter().zip(&outcomes) {
        assert_eq!(
            outcome["outcome"], "rejected",
            "form `{}`: {outcome}",
            def.id
        );
    }
}

#[test]
fn browser_and_server_agree_on_years_repeated_people_and_minimum_age() {
    let forms = real_forms();
    let staff = forms.get("staff-filing").expect("the staff form");
    let pay = forms.get("annual-pay").expect("the pay form");
    let filled = filled_with_examples(staff);
    let row = filled["groups"]["staff"][0].clone();
    let with_rows = |rows: Vec<Json>| {
        let mut s = filled.clone();
        s["groups"]["staff"] = json!(rows);
        s
    };
    let mut changed = row.clone();
    changed["name"] = json!("李四");
    // Someone born in 2015 is 10 at a contract starting in 2026.
    let mut child = row.clone();
    child["id_number"] = json!("150102201501010015");
    child["birth_date"] = json!("2015-01-01");
    let mut ends_before_start = row.clone();
    ends_before_start["filing_type"] = json!("解除");
    ends_before_start["end_date"] = json!("2025-01-01");
    ends_before_start["end_reason"] = json!("协商一致");
    let this_year = today().year().to_string();
    let mut report = filled_with_examples(pay);
    report["fields"]["report_year"] = json!(this_year);

    let table: Vec<(&FormDef, Json, &str)> = vec![
        (
            staff,
            with_rows(vec![row.clone(), changed]),
            "与第 1 个职工相同",
        ),
        (staff, with_rows(vec![child]), "未满 16 周岁"),
        (
            staff,
            with_rows(vec![ends_before_start]),
            "不能早于合同起始日期",
        ),
        (pay, report, "应早于今年"),
    ];
    let cases: Vec<(&FormDef, Json)> = table.iter().map(|(d, s, _)| (*d, s.clone())).collect();
    let outcomes = assert_agreement(&cases);
    for ((_, submission, fragment), outcome) in table.iter().zip(&outcomes) {
        assert_eq!(outcome["outcome"], "rejected", "{submission}: {outcome}");
        let messages = outcome["errors"].to_string();
        assert!(messages.contains(fragment), "{fragment} not in {messages}");
    }
}

#[test]
fn browser_and_server_agree_on_staff_reasons_for_codes_failing_their_check() {
    let forms = real_forms();
    let pay = forms.get("annual-pay").expect("the pay form");
    let mut with_reason = filled_with_examples(pay);
    with_reason["fields"]["unit_code"] = json!("91150100MA0R1B2C8A");
    with_reason["overrides"] = json!({ "unit_code": "已核对营业执照原件" });
    let mut short_reason = with_reason.clone();
    short_reason["overrides"] = json!({ "unit_code": "核对" });
    let mut bad_letter = with_reason.clone();
    bad_letter["fields"]["unit_code"] = json!("9115O100MA0R1B2C8F");
    let cases = vec![(pay, with_reason), (pay, short_reason), (pay, bad_letter)];
    let outcomes = assert_agreement(&cases);
    let kinds: Vec<&str> = outcomes
        .iter()
        .map(|o| o["outcome"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(kinds, ["accepted", "rejected", "rejected"]);
}
