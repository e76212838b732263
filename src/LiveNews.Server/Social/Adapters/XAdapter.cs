using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;

namespace LiveNews.Server.Social.Adapters;

/// <summary>
/// X: <c>POST /2/tweets</c>, 280 weighted characters with links counted as 23. X has no idempotency key:
/// its duplicate-content refusal is read as "already posted", and an unknown outcome is never repeated.
/// </summary>
internal sealed class XAdapter(IHttpClientFactory clients, TimeProvider time) : IShareAdapter
{
    public string Network => Networks.X;

    public bool RetryAfterUnknownIsSafe => false;

    public async Task<PostOutcome> PostAsync(ShareRequest request, CancellationToken cancellationToken)
    {
        var http = clients.CreateClient(SocialServiceCollectionExtensions.HttpClientName);
        var text = ShareText.WithLink(request.Text, request.Link, 280, ShareText.XWeighted, linkWeight: 23);
        using var message = new HttpRequestMessage(HttpMethod.Post, request.Endpoint(Network, "/2/tweets")) { Content = JsonContent.Create(new { text }) };
        message.Headers.Authorization = new AuthenticationHeaderValue("Bearer", request.Account.AccessToken);
        return await HttpOutcomes.ExchangeAsync(http, message, (response, body) =>
        {
            if (response.IsSuccessStatusCode)
            {
                using var json = JsonDocument.Parse(body);
                var id = json.RootElement.GetProperty("data").GetProperty("id").GetString()!;
                return PostOutcome.Posted(id, $"https://x.com/i/web/status/{id}");
            }

            if (response.StatusCode == HttpStatusCode.Forbidden && body.Contains("duplicate content", StringComparison.OrdinalIgnoreCase))
            {
                return new PostOutcome(OutcomeKind.AlreadyPosted, "X reports this text as already posted");
            }

            return HttpOutcomes.FromStatus(response, body, HttpOutcomes.UntilReset(response, "x-rate-limit-reset", time.GetUtcNow()));
        }, cancellationToken);
    }
}
