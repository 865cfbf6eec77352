# Plain boto3 against `dfi serve --gallery celebs`, with any credentials: a photo of Obama that
# was not enrolled, and Biden, who is not in the gallery. Run from the folder that holds celebs/,
# with the study's data at ../shared/data.
import boto3

rek = boto3.client("rekognition", endpoint_url="http://127.0.0.1:4566", region_name="us-east-1",
                   aws_access_key_id="any", aws_secret_access_key="any")
for photo in ("obama3.jpg", "biden.jpg"):
    r = rek.recognize_celebrities(Image={"Bytes": open(f"../shared/data/faces/{photo}", "rb").read()})
    print(photo, [(c["Name"], round(c["MatchConfidence"], 2), c["Id"]) for c in r["CelebrityFaces"]],
          "unrecognized:", len(r["UnrecognizedFaces"]))
r = rek.compare_faces(SourceImage={"Bytes": open("../shared/data/faces/obama.jpg", "rb").read()},
                      TargetImage={"Bytes": open("../shared/data/faces/obama3.jpg", "rb").read()})
print("CompareFaces similarity:", round(r["FaceMatches"][0]["Similarity"], 2))
