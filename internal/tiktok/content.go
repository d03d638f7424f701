package tiktok

import (
	"context"
	"encoding/json"
	"fmt"
)

// CreatorInfo queries what the creator behind tok may post now. TikTok answers HTTP 200 with an error
// code (spam_risk_too_many_posts, spam_risk_user_banned_from_posting, reached_active_user_cap) when the
// creator cannot post; then both the info (if TikTok sent it) and a Terminal *Error are returned.
func (c *Client) CreatorInfo(ctx context.Context, tok AccessToken) (*CreatorInfo, error) {
	var info CreatorInfo
	a, err := c.send(ctx, c.jsonRequest(EndpointCreatorInfo, tok, nil))
	if len(a.env.Data) > 0 && string(a.env.Data) != "null" {
		if derr := json.Unmarshal(a.env.Data, &info); derr != nil && err == nil {
			return nil, dataError(EndpointCreatorInfo, a, derr)
		}
		if err != nil {
			return &info, err
		}
	}
	if err != nil {
		return nil, err
	}
	return &info, nil
}

// InitDirectVideo starts a Direct Post of a video (video/init).
func (c *Client) InitDirectVideo(ctx context.Context, tok AccessToken, req DirectVideoRequest) (*InitResult, error) {
	return c.initCall(ctx, EndpointVideoInit, tok, req)
}

// InitInboxVideo uploads a video as a draft to the creator's inbox (inbox/video/init).
func (c *Client) InitInboxVideo(ctx context.Context, tok AccessToken, req InboxVideoRequest) (*InitResult, error) {
	return c.initCall(ctx, EndpointInboxInit, tok, req)
}

// InitPhoto starts a photo post (content/init), DIRECT_POST or MEDIA_UPLOAD.
func (c *Client) InitPhoto(ctx context.Context, tok AccessToken, req PhotoRequest) (*InitResult, error) {
	body := struct {
		PhotoRequest
		MediaType  string `json:"media_type"`
		SourceInfo struct {
			Source          Source   `json:"source"`
			PhotoImages     []string `json:"photo_images"`
			PhotoCoverIndex int      `json:"photo_cover_index"`
		} `json:"source_info"`
	}{PhotoRequest: req, MediaType: "PHOTO"}
	body.SourceInfo.Source = SourcePullFromURL
	body.SourceInfo.PhotoImages = req.PhotoImages
	body.SourceInfo.PhotoCoverIndex = req.PhotoCoverIndex
	return c.initCall(ctx, EndpointContentInit, tok, body)
}

func (c *Client) initCall(ctx context.Context, ep Endpoint, tok AccessToken, req any) (*InitResult, error) {
	var res InitResult
	if err := c.postJSON(ctx, ep, tok, req, &res); err != nil {
		return nil, err
	}
	if res.PublishID == "" {
		// A 2xx without a publish id: TikTok said yes but we cannot follow the post.
		return nil, &Error{Endpoint: ep, HTTPStatus: 200, Class: Uncertain, Err: fmt.Errorf("answer has no publish_id")}
	}
	return &res, nil
}

// FetchStatus reads the processing status of a post.
func (c *Client) FetchStatus(ctx context.Context, tok AccessToken, publishID string) (*PublishStatus, error) {
	var st PublishStatus
	if err := c.postJSON(ctx, EndpointStatusFetch, tok, map[string]string{"publish_id": publishID}, &st); err != nil {
		return nil, err
	}
	return &st, nil
}

// Cancel stops a PULL_FROM_URL post that is still downloading.
func (c *Client) Cancel(ctx context.Context, tok AccessToken, publishID string) error {
	return c.postJSON(ctx, EndpointCancel, tok, map[string]string{"publish_id": publishID}, nil)
}

// postJSON sends req as JSON and decodes the answer's data into out (when not nil).
func (c *Client) postJSON(ctx context.Context, ep Endpoint, tok AccessToken, req, out any) error {
	body, err := json.Marshal(req)
	if err != nil {
		return &Error{Endpoint: ep, Class: Terminal, Err: fmt.Errorf("encode request: %w", err)}
	}
	a, err := c.send(ctx, c.jsonRequest(ep, tok, body))
	if err != nil {
		return err
	}
	if out == nil || len(a.env.Data) == 0 || string(a.env.Data) == "null" {
		return nil
	}
	if err := json.Unmarshal(a.env.Data, out); err != nil {
		return dataError(ep, a, err)
	}
	return nil
}

// dataError reports a 2xx answer whose data cannot be decoded: TikTok acted, we cannot tell how.
func dataError(ep Endpoint, a answer, err error) *Error {
	return &Error{Endpoint: ep, HTTPStatus: a.status, LogID: a.env.logID(), Class: Uncertain, Err: fmt.Errorf("decode data: %w", err)}
}
