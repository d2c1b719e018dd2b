//! Lambda function for GET /api/forms and GET /api/forms/{id}: the form definitions.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    beian_functions::lambda::init_logging();
    let app =
        beian_functions::lambda::app_from_env(beian_functions::api::function_routes("forms")).await;
    beian_functions::lambda::run(app).await
}
