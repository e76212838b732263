using System.Net;
using System.Net.Http.Json;
using System.Text.Json;

namespace LiveNews.Server.Social.Adapters;

/// <summary>
/// Chat webhooks: Slack incoming webhooks (<c>{text}</c> with <c>&amp; &lt; &gt;</c> escaped, answers <c>ok</c>),
/// Discord (<c>?wait=true</c> so the message id comes back, mentions disabled, <c>retry_after</c> on 429) and a
/// generic JSON webhook. None dedupes: a lost answer or a 5xx is unconfirmed, never resent.
/// </summary>
internal sealed class WebhookAdapter(IHttpClientFactory clients) : IShareAdapter
{
    private const int SlackMaxText = 40000;
    private const int DiscordMaxContent = 2000;

    public string Network => Networks.Webhook;

    public AfterUnknown AfterUnknown => AfterUnknown.Unconfirmed;

    public Task<ComposedPost> ComposeAsync(ShareRequest request, CancellationToken cancellationToken)
    {
        switch (request.Account.WebhookKind)
        {
            case "slack":
                // The link's URL keeps its characters except the two that would end it early.
                var url = request.Link.Replace("|", "%7C", StringComparison.Ordinal).Replace(">", "%3E", StringComparison.Ordinal);
                var link = $"\n<{ShareText.SlackEscape(url)}|{ShareText.SlackEscape(request.Article.Headline)}>";
                var text = ShareText.Fit(ShareText.SlackEscape(request.Text), SlackMaxText - link.Length, s => s.Length) + link;
                return Task.FromResult(ComposedPost.Fits(text, text.Length, SlackMaxText));
            case "discord":
                // The text is trimmed to fit, never the link.
                var tail = "\n" + request.Link;
                var content = ShareText.Fit(request.Text, DiscordMaxContent - tail.Length, s => s.Length) + tail;
                return Task.FromResult(ComposedPost.Fits(content, content.Length, DiscordMaxContent));
            default:
                return Task.FromResult(ComposedPost.Fits(request.Text, request.Text.Length, null));
        }
    }

    public async Task<PostOutcome> PostAsync(ShareRequest request, CancellationToken cancellationToken)
    {
        var http = clients.CreateClient(SocialServiceCollectionExtensions.HttpClientName);
        var kind = request.Account.WebhookKind;
        var url = request.Account.BaseUrl!;
        var text = (await ComposeAsync(request, cancellationToken)).Text;
        object body = kind switch
        {
            "slack" => new { text },
            // An editor's "@everyone" stays text: no mention is parsed (Discord's allowed_mentions).
            "discord" => new { content = text, allowed_mentions = new { parse = Array.Empty<string>() } },
            _ => new { text, link = request.Link, article = new { request.Article.Id, request.Article.Headline, request.Article.Summary, request.Article.Url }, jobId = request.Job.Id },
        };
        if (kind == "discord")
        {
            url += (url.Contains('?', StringComparison.Ordinal) ? "&" : "?") + "wait=true";
        }

        using var message = new HttpRequestMessage(HttpMethod.Post, url) { Content = JsonContent.Create(body) };
        return await HttpOutcomes.ExchangeAsync(http, message, (response, answer) =>
        {
            if (response.IsSuccessStatusCode)
            {
                if (kind == "discord")
                {
                    using var json = JsonDocument.Parse(answer);
                    return PostOutcome.Posted(json.RootElement.GetProperty("id").GetString()!, null);
                }

                return PostOutcome.Posted(request.Job.Id, null);
            }

            TimeSpan? retryAfter = null;
            if (kind == "discord" && response.StatusCode == HttpStatusCode.TooManyRequests)
            {
                try
                {
                    using var json = JsonDocument.Parse(answer);
                    retryAfter = TimeSpan.FromSeconds(json.RootElement.GetProperty("retry_after").GetDouble());
                }
                catch (Exception ex) when (ex is JsonException or KeyNotFoundException or InvalidOperationException)
                {
                }
            }

            // Slack answers 404 no_service / 410 channel_is_archived for a webhook that is gone.
            return response.StatusCode is HttpStatusCode.NotFound or HttpStatusCode.Gone
                ? PostOutcome.Auth($"{(int)response.StatusCode} webhook is gone: {HttpOutcomes.Clip(answer)}")
                : HttpOutcomes.FromStatus(response, answer, retryAfter);
        }, cancellationToken);
    }
}
