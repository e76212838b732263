using System.Net.Http.Headers;
using System.Net.Http.Json;

namespace LiveNews.Server.Social.Adapters;

/// <summary>LinkedIn: <c>POST /rest/posts</c> (versioned API) with article content; the post id is the <c>x-restli-id</c> header.</summary>
internal sealed class LinkedInAdapter(IHttpClientFactory clients, TimeProvider time) : IShareAdapter
{
    private const int MaxCommentary = 3000;

    public string Network => Networks.LinkedIn;

    public bool RetryAfterUnknownIsSafe => false;

    public async Task<PostOutcome> PostAsync(ShareRequest request, CancellationToken cancellationToken)
    {
        var http = clients.CreateClient(SocialServiceCollectionExtensions.HttpClientName);
        var body = new
        {
            author = request.Account.AccountId,
            commentary = ShareText.Fit(request.Text, MaxCommentary, s => s.Length),
            visibility = "PUBLIC",
            distribution = new { feedDistribution = "MAIN_FEED", targetEntities = Array.Empty<object>(), thirdPartyDistributionChannels = Array.Empty<object>() },
            content = new { article = new { source = request.Link, title = request.Article.Headline, description = request.Article.Summary ?? "" } },
            lifecycleState = "PUBLISHED",
            isReshareDisabledByAuthor = false,
        };
        using var message = new HttpRequestMessage(HttpMethod.Post, request.Endpoint(Network, "/rest/posts")) { Content = JsonContent.Create(body) };
        message.Headers.Authorization = new AuthenticationHeaderValue("Bearer", request.Account.AccessToken);
        message.Headers.Add("LinkedIn-Version", request.Account.ApiVersion ?? "202411");
        message.Headers.Add("X-Restli-Protocol-Version", "2.0.0");
        return await HttpOutcomes.ExchangeAsync(http, message, (response, text) =>
        {
            if (response.IsSuccessStatusCode && response.Headers.TryGetValues("x-restli-id", out var ids))
            {
                var id = ids.First();
                return PostOutcome.Posted(id, $"https://www.linkedin.com/feed/update/{id}/");
            }

            return (int)response.StatusCode == 422 && text.Contains("duplicate", StringComparison.OrdinalIgnoreCase)
                ? new PostOutcome(OutcomeKind.AlreadyPosted, "LinkedIn reports a duplicate post")
                : HttpOutcomes.FromStatus(response, text, HttpOutcomes.RetryAfter(response) ?? HttpOutcomes.UntilReset(response, "x-ratelimit-reset", time.GetUtcNow()));
        }, cancellationToken);
    }
}
