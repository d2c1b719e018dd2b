//! Lambda function for POST /api/forms/{id}/upload and POST /api/staff/forms/{id}/upload:
//! bulk filing by spreadsheet.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    beian_functions::lambda::init_logging();
    let routes = beian_functions::api::function_routes("upload");
    let app = beian_functions::lambda::app_from_env(routes).await;
    beian_functions::lambda::run(app).await
}
