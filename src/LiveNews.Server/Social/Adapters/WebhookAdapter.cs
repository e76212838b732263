using System.Net;
using System.Net.Http.Json;
using System.Text.Json;

namespace LiveNews.Server.Social.Adapters;

/// <summary>
/// Chat webhooks: Slack incoming webhooks (<c>{text}</c>, answers <c>ok</c>), Discord (<c>?wait=true</c> so the
/// message id comes back; <c>retry_after</c> on 429) and a generic JSON webhook.
/// </summary>
internal sealed class WebhookAdapter(IHttpClientFactory clients) : IShareAdapter
{
    public string Network => Networks.Webhook;

    public bool RetryAfterUnknownIsSafe => false;

    public async Task<PostOutcome> PostAsync(ShareRequest request, CancellationToken cancellationToken)
    {
        var http = clients.CreateClient(SocialServiceCollectionExtensions.HttpClientName);
        var kind = request.Account.WebhookKind;
        var url = request.Account.BaseUrl!;
        object body = kind switch
        {
            "slack" => new { text = $"{request.Text}\n<{request.Link}|{request.Article.Headline}>" },
            "discord" => new { content = ShareText.Fit($"{request.Text}\n{request.Link}", 2000, s => s.Length) },
            _ => new { text = request.Text, link = request.Link, article = new { request.Article.Id, request.Article.Headline, request.Article.Summary, request.Article.Url }, jobId = request.Job.Id },
        };
        if (kind == "discord")
        {
            url += (url.Contains('?', StringComparison.Ordinal) ? "&" : "?") + "wait=true";
        }

        using var message = new HttpRequestMessage(HttpMethod.Post, url) { Content = JsonContent.Create(body) };
        return await HttpOutcomes.ExchangeAsync(http, message, (response, text) =>
        {
            if (response.IsSuccessStatusCode)
            {
                if (kind == "discord")
                {
                    using var json = JsonDocument.Parse(text);
                    return PostOutcome.Posted(json.RootElement.GetProperty("id").GetString()!, null);
                }

                return PostOutcome.Posted(request.Job.Id, null);
            }

            TimeSpan? retryAfter = null;
            if (kind == "discord" && response.StatusCode == HttpStatusCode.TooManyRequests)
            {
                try
                {
                    using var json = JsonDocument.Parse(text);
                    retryAfter = TimeSpan.FromSeconds(json.RootElement.GetProperty("retry_after").GetDouble());
                }
                catch (Exception ex) when (ex is JsonException or KeyNotFoundException or InvalidOperationException)
                {
                }
            }

            // Slack answers 404 no_service / 410 channel_is_archived for a webhook that is gone.
            return response.StatusCode is HttpStatusCode.NotFound or HttpStatusCode.Gone
                ? PostOutcome.Auth($"{(int)response.StatusCode} webhook is gone: {HttpOutcomes.Clip(text)}")
                : HttpOutcomes.FromStatus(response, text, retryAfter);
        }, cancellationToken);
    }
}
