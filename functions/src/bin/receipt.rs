//! Lambda function for GET /api/receipts/{reference}: receipts.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    beian_functions::lambda::init_logging();
    let app =
        beian_functions::lambda::app_from_env(beian_functions::api::function_routes("receipt"))
            .await;
    beian_functions::lambda::run(app).await
}
